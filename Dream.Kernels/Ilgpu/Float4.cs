namespace Dream.Kernels.Ilgpu;

/// <summary>Four floats that move as one 16-byte load or store (`ld.global.v4.f32` on CUDA): what a row kernel
/// reads per thread when its rows are a multiple of 4 floats long and 16-byte aligned.</summary>
internal struct Float4
{
    public float X, Y, Z, W;
}
