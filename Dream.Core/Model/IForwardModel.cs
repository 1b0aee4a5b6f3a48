namespace Dream.Core.Model;

/// <summary>
/// The one contract every backend implements (reference, cpu, ilgpu-cpu, cuda, opencl): a full bidirectional
/// forward pass over the canvas that returns logits only for the rows the sampler asks for. Thanks to Dream's
/// logits shift the loop needs row p−1 for each masked position p, so at 152064 vocabulary most of lm_head is
/// never computed.
/// </summary>
public interface IForwardModel : IDisposable
{
    DreamConfig Config { get; }

    /// <summary>The name `--backend` takes for this implementation.</summary>
    string BackendName { get; }

    /// <summary>
    /// How the products are computed, which decides how close to the float64 logits a correct implementation
    /// lands (what `dream verify` holds it to). Float32 unless the implementation says otherwise.
    /// </summary>
    ForwardPrecision Precision => ForwardPrecision.Float32;

    /// <param name="input">ids, optional padding mask and positions, [B, T].</param>
    /// <param name="rows">flat row indices b·T + t whose logits are wanted, in any order.</param>
    /// <param name="logits">[rows.Length, V] row-major float32, written in the order of <paramref name="rows"/>.</param>
    void Forward(ForwardInput input, ReadOnlySpan<int> rows, Span<float> logits);
}

/// <summary>What a forward's products are computed in (see <see cref="IForwardModel.Precision"/>).</summary>
public enum ForwardPrecision
{
    /// <summary>float32 (or wider) inputs and sums: within about 1e-4 of the float64 logits on the golden models.</summary>
    Float32 = 0,
    /// <summary>Every product's input rounded to bf16 once, f32 sums — as the official code's bf16 run: as far from float64 as that run is.</summary>
    Bf16Inputs = 1,
}
