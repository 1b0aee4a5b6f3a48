using Dream.Core.Model;
using Dream.Core.Training;
using Dream.Kernels.Ilgpu.Training;
using Dream.Kernels.Training;
using Dream.Reference;
using Dream.Tests.Training;

namespace Dream.Tests.Ilgpu.Training;

/// <summary>
/// The ILGPU trainer as a whole, on tiny models (the CPU simulator is slow):
/// loss and every parameter gradient equal TrainableModel&lt;double&gt;'s (the oracle) within float32 accumulation
/// error, |ilgpu − oracle| ≤ 2e-6 + 2e-3·max|oracle| per tensor (as the CPU trainer is held to); a few device steps
/// (AdamW and clipping on the device) follow the CPU trainer's host steps; and training makes the loss fall.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class IlgpuTrainableModelTests
{
    public static TheoryData<int, bool, bool> Shapes => new()
    {
        { 0, true, false },    // 2 heads sharing 1 kv head, tied
        { 1, false, false },   // untied lm_head, 3 heads over 3 kv heads
        { 2, true, true },     // causal (the autoregressive baseline), GQA 2:1
    };

    private static DreamConfig Config(int shape, bool tied) => shape switch
    {
        0 => TrainingFixtures.TinyConfig(tied),
        1 => TrainingFixtures.TinyConfig(tied, layers: 1) with { NumAttentionHeads = 3, NumKeyValueHeads = 3, HiddenSize = 6, IntermediateSize = 5 },
        _ => TrainingFixtures.TinyConfig(tied) with { NumAttentionHeads = 4, NumKeyValueHeads = 2, HiddenSize = 8 },
    };

    [IlgpuTheory]
    [MemberData(nameof(Shapes))]
    public void LossAndGradientsMatchTheOracle(int shape, bool tied, bool causal)
    {
        var (gradients, loss, oracleGradients, oracleLoss) = AgainstOracle(Config(shape, tied), shape, causal, std: 0.3, TrainingPrecision.Float32);

        Assert.Equal(oracleLoss, loss, 1e-5);
        for (int i = 0; i < gradients.Tensors.Count; i++)
        {
            var fast = gradients.Tensors[i].Data;
            var oracle = oracleGradients.Tensors[i].Data;
            double scale = oracle.Max(Math.Abs);
            for (int j = 0; j < fast.Length; j++)
                Assert.True(Math.Abs(fast[j] - oracle[j]) <= 2e-6 + 2e-3 * scale,
                    $"{gradients.Tensors[i].Name}[{j}]: ilgpu {fast[j]:R}, oracle {oracle[j]:R} (tensor max {scale:G3})");
        }
    }

    /// <summary>
    /// Loss and gradients of one noised batch on the device (at <paramref name="precision"/>) and from the float64
    /// oracle, both from the same std-<paramref name="std"/> parameters (the oracle's a float64 copy).
    /// </summary>
    private static (DreamParameters<float> Gradients, double Loss, DreamParameters<double> OracleGradients, double OracleLoss) AgainstOracle(
        DreamConfig config, int shape, bool causal, double std, TrainingPrecision precision)
    {
        ulong seed = (ulong)(17 + shape);
        var parameters = DreamParameters<float>.Initialize(config, seed, std);
        var oracleParameters = TrainingFixtures.Widened(parameters);
        var batch = TrainingFixtures.NoisedBatch(config, batch: 2 + shape, length: 5 + 2 * shape, seed);

        var gradients = DreamParameters<float>.Zeros(config);
        var oracleGradients = DreamParameters<double>.Zeros(config);
        using var model = new IlgpuTrainableModel(TrainingCheck.TrainKernels, parameters, causal, precision);
        double loss = model.LossAndGradients(batch, gradients);
        double oracleLoss = new TrainableModel<double>(oracleParameters, causal).LossAndGradients(batch, oracleGradients);
        return (gradients, loss, oracleGradients, oracleLoss);
    }

    /// <summary>
    /// Mixed precision (<see cref="TrainingPrecision.BFloat16"/>: every Linear product on bf16 copies of its operands,
    /// f32 accumulation) against the same float64 oracle. Rounding an operand to bf16 moves it by at most
    /// u_bf = 2^-8 relative (8 significant bits), so one product moves by at most 2·u_bf·Σ|a·b|; a gradient passes
    /// through at most ~8 such products on its way back from the loss (lm_head, the layer's Linear inputs and
    /// outputs, both directions): an estimate of 16·u_bf. The test asserts half of that, in steps of 2^-9: 16·2^-9 of
    /// the tensor's largest oracle gradient per element (plus 1e-5), the same normwise per tensor,
    /// ‖g − g_oracle‖₂ ≤ 16·2^-9·‖g_oracle‖₂, and 8·2^-9·max(1, |loss|) for the loss — it holds on every shape, on the
    /// CPU simulator and on CUDA, because rounding errors seldom all reach their worst case together.
    /// Weights are drawn with std 0.1, not the
    /// 0.3 of the float32 test: at 0.3 the attention logits of the widened CUDA shapes grow large enough for the
    /// softmax's backward to amplify bf16 rounding past the 8-product estimate (q_proj 4.3% normwise — identical on
    /// the CPU simulator's fallback, so the arithmetic, not a kernel, put it there). This still catches a wrong
    /// operand layout, a missing slice or a dropped accumulation by orders of magnitude.
    /// </summary>
    [IlgpuTheory]
    [MemberData(nameof(Shapes))]
    public void MixedPrecisionLossAndGradientsStayNearTheOracle(int shape, bool tied, bool causal)
    {
        var config = Config(shape, tied);
        // On CUDA the tensor-core copies need 16-byte rows: widen the tiny model to multiples of 8.
        if (TrainingCheck.TrainKernels.IsCuda)
            config = config with { HiddenSize = 8 * config.NumAttentionHeads, IntermediateSize = 16 };
        var (gradients, loss, oracleGradients, oracleLoss) = AgainstOracle(config, shape, causal, std: 0.1, TrainingPrecision.BFloat16);

        const double HalfUBf16 = 1.0 / 512;   // 2^-9, half of bf16's unit roundoff
        Assert.True(Math.Abs(loss - oracleLoss) <= 8 * HalfUBf16 * Math.Max(1, Math.Abs(oracleLoss)), $"loss: bf16 {loss:R}, oracle {oracleLoss:R}");
        double worst = 0;
        for (int i = 0; i < gradients.Tensors.Count; i++)
        {
            var fast = gradients.Tensors[i].Data;
            var oracle = oracleGradients.Tensors[i].Data;
            double errorSquares = 0, oracleSquares = 0, scale = oracle.Max(Math.Abs);
            for (int j = 0; j < fast.Length; j++)
            {
                double error = fast[j] - oracle[j];
                errorSquares += error * error;
                oracleSquares += oracle[j] * oracle[j];
                Assert.True(Math.Abs(error) <= 1e-5 + 16 * HalfUBf16 * scale,
                    $"{gradients.Tensors[i].Name}[{j}]: bf16 {fast[j]:R}, oracle {oracle[j]:R} (tensor max {scale:G3})");
            }
            double errorNorm = Math.Sqrt(errorSquares), oracleNorm = Math.Sqrt(oracleSquares);
            worst = Math.Max(worst, errorNorm / Math.Max(oracleNorm, 1e-30));
            Assert.True(errorNorm <= 1e-5 * Math.Sqrt(fast.Length) + 16 * HalfUBf16 * oracleNorm,
                $"{gradients.Tensors[i].Name}: ‖bf16 − oracle‖ {errorNorm:E3} > 16·2^-9·‖oracle‖ = {16 * HalfUBf16 * oracleNorm:E3}");
        }
        Assert.True(worst > 0, "the mixed-precision path rounded nothing: is it really running?");
    }

    /// <summary>
    /// Three steps through <see cref="Trainer"/>: on the device (norm, clipping and AdamW there) and on the host
    /// (CpuTrainableModel, host clipping and AdamW) from the same initial parameters and batches; parameters and
    /// moments agree within 1e-4 (float32 rounding through three updates whose step size is lr·m̂/√v̂, so a rounding
    /// of g near zero can move an element by up to lr: the bound is taken relative to lr = 1e-3), and the step's
    /// saved state round-trips through DownloadState/UploadState.
    /// </summary>
    [IlgpuFact]
    public void DeviceStepsFollowTheHostSteps()
    {
        var config = TrainingFixtures.TinyConfig(tied: true);
        TrainingBatch Batch(long step) => TrainingFixtures.NoisedBatch(config, batch: 3, length: 9, seed: 5 + (ulong)step);
        var schedule = new LearningRateSchedule(1e-3, 1, 3);
        var hostParameters = DreamParameters<float>.Initialize(config, 3, std: 0.3);
        var deviceParameters = DreamParameters<float>.Initialize(config, 3, std: 0.3);
        var host = new Trainer(new CpuTrainableModel(hostParameters), Batch, schedule) { ClipNorm = 0.5 };
        using var model = new IlgpuTrainableModel(TrainingCheck.TrainKernels, deviceParameters);
        var device = new Trainer(model, Batch, schedule) { ClipNorm = 0.5 };
        for (int s = 0; s < 3; s++)
        {
            var (hl, hn, _, _) = host.RunStep();
            var (dl, dn, _, _) = device.RunStep();
            Assert.Equal(hl, dl, 1e-5);
            Assert.Equal(hn, dn, 1e-4 * Math.Max(1, hn));
        }
        device.DownloadState();
        Assert.Equal(host.Optimizer.Updates, device.Optimizer.Updates);
        for (int i = 0; i < hostParameters.Tensors.Count; i++)
        {
            var name = hostParameters.Tensors[i].Name;
            var h = hostParameters.Tensors[i].Data;
            var d = deviceParameters.Tensors[i].Data;
            for (int j = 0; j < h.Length; j++) Assert.True(Math.Abs(h[j] - d[j]) <= 1e-4, $"{name}[{j}]: host {h[j]:R}, device {d[j]:R}");
            var hm = host.Optimizer.FirstMoment.Tensors[i].Data;
            var dm = device.Optimizer.FirstMoment.Tensors[i].Data;
            double scale = hm.Max(Math.Abs);
            for (int j = 0; j < hm.Length; j++) Assert.True(Math.Abs(hm[j] - dm[j]) <= 1e-6 + 2e-3 * scale, $"m {name}[{j}]: host {hm[j]:R}, device {dm[j]:R}");
        }
    }

    /// <summary>Twelve device steps on one fixed batch of a tiny model: the loss of the last step is below 80% of the first's.</summary>
    [IlgpuFact]
    public void TrainingOnTheDeviceLowersTheLoss()
    {
        var config = TrainingFixtures.TinyConfig(tied: true, layers: 1);
        var batch = TrainingFixtures.NoisedBatch(config, batch: 4, length: 8, seed: 9, LossWeighting.Constant);
        using var model = new IlgpuTrainableModel(TrainingCheck.TrainKernels, DreamParameters<float>.Initialize(config, 1));
        var trainer = new Trainer(model, _ => batch, new LearningRateSchedule(3e-2, 1, 12));
        var losses = new List<double>();
        trainer.Run(1, r => losses.Add(r.Loss));
        Assert.Equal(12, losses.Count);
        Assert.True(losses[^1] < 0.8 * losses[0], $"losses: {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
    }
}
