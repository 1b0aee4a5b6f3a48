namespace Dream.Bench;

/// <summary>`dotnet run -c Release --project Dream.Bench -- BENCHMARK [options]`: a dispatcher, one line per benchmark.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string name = args.Length > 0 ? args[0] : "";
        string[] rest = args.Length > 0 ? args[1..] : [];
        const string Usage = "usage: Dream.Bench tokenizer [--tokenizer PATH] [--corpus PATH] [--mb N]\n       Dream.Bench cpu [peak] [gemm] [planner [MODEL_DIR]] [layer7b-prepare DIR] [layer7b DIR]\n       Dream.Bench gemm [--device cuda|opencl|ilgpu-cpu] [--lens 256,512,1024,2048] [--reps N] [--shapes qkv,o,gate+up,down,lm_head] [--kernels auto,mma,wgmma{128|192}x{112|128|144|192|224|256},wgmma160x192t] [--walk on|off|both] [--quick]\n       Dream.Bench attention [--device cuda|opencl|ilgpu-cpu] [--quick]\n       Dream.Bench train-step [--device cuda|opencl|ilgpu-cpu] [--quick] [--batch N] [--reps N]";
        try
        {
            switch (name)
            {
                case "tokenizer": return TokenizerBench.Run(rest, Console.Out);
                case "cpu": return CpuBench.Run(rest);
                case "gemm": return GemmBench.Run(rest);
                case "attention": return AttentionBench.Run(rest);
                case "train-step": return TrainStepBench.Run(rest);
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"{e.Message}\n{Usage}");
            return 2;
        }
    }
}
