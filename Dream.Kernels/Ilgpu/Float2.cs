namespace Dream.Kernels.Ilgpu;

/// <summary>Two floats that move as one 8-byte load or store (`ld.global.v2.f32` on CUDA): a pair of neighbouring
/// outputs of the tensor-core epilogues, which every mma fragment holds side by side.</summary>
internal struct Float2
{
    public float X, Y;

    /// <summary>(a.X + b.X, a.Y + b.Y): the accumulator first, as the single-output epilogue adds.</summary>
    public static Float2 Add(Float2 a, Float2 b) => new() { X = a.X + b.X, Y = a.Y + b.Y };
}
