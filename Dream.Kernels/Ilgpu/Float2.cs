namespace Dream.Kernels.Ilgpu;

/// <summary>Two floats that move as one 8-byte load or store (`ld.global.v2.f32` on CUDA): a pair of neighbouring
/// outputs of the tensor-core epilogues, which every mma fragment holds side by side.</summary>
internal struct Float2
{
    public float X, Y;
}
