namespace Dream.Core.Generation;

/// <summary>Which of several equally confident positions a confidence step takes first.</summary>
public enum PositionTies
{
    /// <summary>Default: the lowest position (what torch.topk does on CUDA, and what makes bf16 decoding run
    /// left to right in upstream issue #72).</summary>
    LowestPosition,

    /// <summary>
    /// Exactly what torch.topk does on the CPU — libstdc++'s std::partial_sort when k·64 ≤ T, else
    /// std::nth_element — which is what the golden files (produced on a CPU) show when confidences tie exactly,
    /// e.g. every position at margin 1 after top_p leaves one token each. See <see cref="TorchCpuTopK"/>.
    /// </summary>
    TorchCpu,
}
