using ILGPU.Runtime;

namespace Dream.Kernels.Ilgpu;

/// <summary>
/// Binds a launcher from ILGPU's stream-taking loaders (LoadKernel, LoadAutoGroupedKernel: the stream is the first
/// argument) to one stream, so the op classes launch with the same arguments as before. ILGPU's own
/// LoadStreamKernel binds the accelerator's default stream, which on CUDA is the legacy NULL stream — and a CUDA
/// graph cannot capture that one (<see cref="IlgpuKernels.Stream"/>, <see cref="CudaGraph"/>). One overload per
/// argument count the kernels use (index or group configuration included).
/// </summary>
internal static class StreamBinding
{
    public static Action<T1, T2, T3> On<T1, T2, T3>(this Action<AcceleratorStream, T1, T2, T3> launch, AcceleratorStream stream) =>
        (a1, a2, a3) => launch(stream, a1, a2, a3);

    public static Action<T1, T2, T3, T4> On<T1, T2, T3, T4>(this Action<AcceleratorStream, T1, T2, T3, T4> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4) => launch(stream, a1, a2, a3, a4);

    public static Action<T1, T2, T3, T4, T5> On<T1, T2, T3, T4, T5>(this Action<AcceleratorStream, T1, T2, T3, T4, T5> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5) => launch(stream, a1, a2, a3, a4, a5);

    public static Action<T1, T2, T3, T4, T5, T6> On<T1, T2, T3, T4, T5, T6>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6) => launch(stream, a1, a2, a3, a4, a5, a6);

    public static Action<T1, T2, T3, T4, T5, T6, T7> On<T1, T2, T3, T4, T5, T6, T7>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6, T7> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6, a7) => launch(stream, a1, a2, a3, a4, a5, a6, a7);

    public static Action<T1, T2, T3, T4, T5, T6, T7, T8> On<T1, T2, T3, T4, T5, T6, T7, T8>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6, T7, T8> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6, a7, a8) => launch(stream, a1, a2, a3, a4, a5, a6, a7, a8);

    public static Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> On<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) => launch(stream, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10);

    public static Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> On<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) => launch(stream, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);

    public static Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> On<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) => launch(stream, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12);

    public static Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13> On<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) => launch(stream, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13);

    public static Action<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14> On<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14>(this Action<AcceleratorStream, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14> launch, AcceleratorStream stream) =>
        (a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14) => launch(stream, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14);
}
