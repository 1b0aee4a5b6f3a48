namespace Dream.Core.Training;

/// <summary>
/// A trainable model that keeps its parameters, gradients and AdamW moments on its own device and runs the whole
/// step there — forward, backward, gradient norm, clipping and AdamW — reading back only the loss and the norm.
/// <see cref="Trainer"/> uses it when the model offers it; the host copies (<see cref="ITrainableModel{T}.Parameters"/>
/// and the optimizer's moments) are brought up to date only on request, for checkpoints.
/// </summary>
public interface IDeviceTrainingStep
{
    /// <summary>One step with the optimizer's hyper-parameters; increments <see cref="AdamW.Updates"/>.</summary>
    (double Loss, double GradientNorm) Step(TrainingBatch batch, AdamW optimizer, double learningRate, double clipNorm);

    /// <summary>Copies the device's parameters into the model's host parameters and its moments into <paramref name="optimizer"/>.</summary>
    void DownloadState(AdamW optimizer);

    /// <summary>Copies the host parameters and <paramref name="optimizer"/>'s moments to the device (after a resume).</summary>
    void UploadState(AdamW optimizer);
}
