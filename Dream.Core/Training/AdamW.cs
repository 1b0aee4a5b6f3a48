namespace Dream.Core.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter), as torch.optim.AdamW computes it, per element of every tensor:
///   m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
///   θ ← θ − lr·λ·θ                                   (decoupled weight decay, matrices only)
///   θ ← θ − lr · (m / (1 − β₁ᵏ)) / (sqrt(v / (1 − β₂ᵏ)) + ε)      k = 1, 2, … the update count
/// Norm weights and biases are not decayed (decay would pull the RMSNorm gains toward 0, not toward identity).
/// The moments and the count are the state a resumed run needs (<see cref="TrainingState"/>).
/// </summary>
public sealed class AdamW
{
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double Epsilon { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.01;

    public DreamParameters<float> FirstMoment { get; }
    public DreamParameters<float> SecondMoment { get; }
    /// <summary>Updates applied so far (k − 1 before the next one).</summary>
    public long Updates { get; set; }

    public AdamW(Model.DreamConfig config)
    {
        FirstMoment = DreamParameters<float>.Zeros(config);
        SecondMoment = DreamParameters<float>.Zeros(config);
    }

    public void Step(DreamParameters<float> parameters, DreamParameters<float> gradients, double learningRate)
    {
        Updates++;
        double correction1 = 1 - Math.Pow(Beta1, Updates);
        double correction2 = 1 - Math.Pow(Beta2, Updates);
        float b1 = (float)Beta1, b2 = (float)Beta2;
        for (int n = 0; n < parameters.Tensors.Count; n++)
        {
            var tensor = parameters.Tensors[n];
            float[] theta = tensor.Data, g = gradients.Tensors[n].Data;
            float[] m = FirstMoment.Tensors[n].Data, v = SecondMoment.Tensors[n].Data;
            float decay = tensor.IsMatrix ? (float)(1 - learningRate * WeightDecay) : 1f;
            float stepSize = (float)(learningRate / correction1);
            float rootCorrection2 = (float)Math.Sqrt(correction2);
            float eps = (float)Epsilon;
            for (int i = 0; i < theta.Length; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                theta[i] = theta[i] * decay - stepSize * m[i] / (MathF.Sqrt(v[i]) / rootCorrection2 + eps);
            }
        }
    }
}
