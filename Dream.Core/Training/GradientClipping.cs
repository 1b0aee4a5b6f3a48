namespace Dream.Core.Training;

/// <summary>
/// Global-norm clipping, as torch.nn.utils.clip_grad_norm_: with N = sqrt(Σ over every tensor of Σ g²), all
/// gradients are scaled by min(1, maxNorm / (N + 1e-6)). Returns N (before clipping), which the progress line shows.
/// </summary>
public static class GradientClipping
{
    public static double ClipGlobalNorm(DreamParameters<float> gradients, double maxNorm)
    {
        double sum = 0;
        foreach (var t in gradients.Tensors)
            foreach (float g in t.Data) sum += (double)g * g;
        double norm = Math.Sqrt(sum);
        double scale = maxNorm / (norm + 1e-6);
        if (scale < 1)
            foreach (var t in gradients.Tensors)
                for (int i = 0; i < t.Data.Length; i++) t.Data[i] *= (float)scale;
        return norm;
    }
}
