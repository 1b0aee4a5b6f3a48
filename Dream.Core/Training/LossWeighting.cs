namespace Dream.Core.Training;

/// <summary>How each masked token's cross-entropy is weighted in the masked-diffusion loss (docs: training.md).</summary>
public enum LossWeighting
{
    /// <summary>w = 1/t: the ELBO weighting of the original masked-diffusion objective.</summary>
    InverseT,
    /// <summary>w = 1 − t: down-weights the heavily masked sequences.</summary>
    OneMinusT,
    /// <summary>w = 1: plain cross-entropy on the masked tokens (what the 9×9 recipe used).</summary>
    Constant,
    /// <summary>Dream's context-adaptive token-level weight, see <see cref="CartWeight"/>.</summary>
    Cart,
}
