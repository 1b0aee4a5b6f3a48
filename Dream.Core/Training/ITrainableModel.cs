using System.Numerics;

namespace Dream.Core.Training;

/// <summary>
/// What the trainer needs of a model: its parameters, and one call that runs forward and backward on a batch.
/// Implemented by the plain-loop oracle (Dream.Reference's TrainableModel) and by the fast CPU trainer that is
/// tested against it.
/// </summary>
public interface ITrainableModel<T> where T : IFloatingPointIeee754<T>
{
    DreamParameters<T> Parameters { get; }

    /// <summary>Causal attention: only the autoregressive baseline sets it; Dream is bidirectional.</summary>
    bool Causal { get; }

    /// <summary>
    /// The batch's loss Σ_r w[r]·CE(logits[Rows[r]], Targets[r]); the gradient of that loss with respect to every
    /// parameter is accumulated (+=) into <paramref name="gradients"/>, which the caller zeroes between steps.
    /// </summary>
    double LossAndGradients(TrainingBatch batch, DreamParameters<T> gradients);
}
