using ILGPU.Runtime;
using Dream.Kernels.Ilgpu.Training;
using FsCheck;
using FsCheck.Fluent;
using static Dream.Tests.Ilgpu.IlgpuCheck;
using static Dream.Tests.Ilgpu.Training.TrainingCheck;
using Ref = Dream.Reference;

namespace Dream.Tests.Ilgpu.Training;

/// <summary>
/// Every training kernel of Dream.Kernels.Ilgpu.Training against its Dream.Reference twin evaluated in float64 on
/// the same float32 inputs, on FsCheck-drawn small shapes around the device's group size (odd sizes, one row,
/// GQA groups 1–3, causal and not). Bounds, with u = 2^-24 and γ_n = nu/(1 − nu):
///   RmsNorm: forward (2γ_D + 8u)|ref| as the inference kernel; backward dx and dw 2·γ_{D+8} times the same
///     expression evaluated on absolute values (the r³·(g·x) term brings the root's and the D-term dot's error);
///   Embedding and RowGather backward: n-term sums, γ_n·Σ|terms|;
///   RoPE backward: 4u·(sum of the two products), like the forward;
///   SwiGLU backward: 16u|ref| + 8u·(the terms' magnitude), a handful of roundings and one GPU exp;
///   Attention (softmax products chained through exp, T and Dh-term sums): normwise 8·γ_{2T+2Dh+16}·max|ref|;
///   CrossEntropy: the row's V-term exp sum, 4·γ_{V+8} per row against the row's largest term — dz_j = w·p_j − w·[j = target]
///     subtracts two terms of size up to w, so the scale is max(max|dz|, w), not max|dz| alone (a target with p near 1
///     leaves |dz| ≪ w with the rounding of w·p intact) — and γ_R over the loss's R terms.
/// </summary>
[Collection(IlgpuCollection.Name)]
public class BackwardKernelTests
{
    public sealed record Rows(int Count, int Dim, int Seed);

    private static Arbitrary<Rows> RowCases =>
        (from n in Size(7) from d in Around(TrainKernels.ReductionGroupSize) from seed in Seed select new Rows(n, d, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 20)]
    public Property RmsNormMatchesReference() => Prop.ForAll(RowCases, c =>
    {
        var random = new Random(c.Seed);
        int n = c.Count, d = c.Dim;
        float eps = 1e-6f;
        float[] x = Values(random, n * d), w = Values(random, d), dy = Values(random, n * d), dx0 = Values(random, n * d), dw0 = Values(random, d);
        var y = new double[n * d];
        Ref.RmsNorm.Forward(Wide(x), Wide(w), eps, y, n, d);
        double[] dx = Wide(dx0), dw = Wide(dw0);
        Ref.RmsNorm.Backward(Wide(x), Wide(w), eps, Wide(dy), dx, dw, n, d);
        // The same backward on magnitudes: |dx0| + r|dy·w| + |x|·r³·Σ|dy·w·x|/D, |dw0| + Σ|dy·x|·r.
        var dxMag = new double[n * d]; var dwMag = dw0.Select(v => (double)Math.Abs(v)).ToArray();
        for (int t = 0; t < n; t++)
        {
            double ss = 0, along = 0;
            for (int i = 0; i < d; i++) { ss += (double)x[t * d + i] * x[t * d + i]; along += Math.Abs((double)dy[t * d + i] * w[i] * x[t * d + i]); }
            double r = 1 / Math.Sqrt(ss / d + eps);
            for (int i = 0; i < d; i++)
            {
                dxMag[t * d + i] = Math.Abs(dx0[t * d + i]) + r * Math.Abs(dy[t * d + i] * w[i]) + Math.Abs(x[t * d + i]) * r * r * r * along / d;
                dwMag[i] += Math.Abs(dy[t * d + i] * x[t * d + i]) * r;
            }
        }

        using var xb = Upload(Acc, x); using var wb = Upload(Acc, w); using var dyb = Upload(Acc, dy);
        using var yb = Acc.Allocate1D<float>(n * d); using var rb = Acc.Allocate1D<float>(n);
        using var dxb = Upload(Acc, dx0); using var dwb = Upload(Acc, dw0);
        RmsNorm.Forward(TrainKernels, xb.View, wb.View, eps, yb.View, rb.View, n, d);
        RmsNorm.Backward(TrainKernels, xb.View, wb.View, rb.View, dyb.View, dxb.View, dwb.View, n, d);
        double rtol = 2 * Gamma(d) + 8 * U;
        Close($"y {c}", Run(yb, n * d), y.Select(v => (float)v).ToArray(), i => 1e-30 + rtol * Math.Abs(y[i]));
        Near($"dx {c}", Run(dxb, n * d), dx, i => dxMag[i], d + 8);
        Near($"dw {c}", Run(dwb, d), dw, i => dwMag[i], n + d + 8);
    });

    public sealed record Tokens(int Count, int Vocab, int Dim, int Seed);

    private static Arbitrary<Tokens> TokenCases =>
        (from n in Gen.Frequency((3, Size(40)), (1, Gen.Choose(Embedding.ChunkEntries + 1, 3 * Embedding.ChunkEntries))) // long walks: the chunked backward
         from v in Size(9) from d in Around(TrainKernels.ReductionGroupSize) from seed in Seed select new Tokens(n, v, d, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 20)]
    public Property EmbeddingAndRowGatherBackwardsMatchReference() => Prop.ForAll(TokenCases, c =>
    {
        var random = new Random(c.Seed);
        int n = c.Count, v = c.Vocab, d = c.Dim;
        int[] ids = Enumerable.Range(0, n).Select(_ => random.Next(v)).ToArray();
        float[] dy = Values(random, n * d), dTable0 = Values(random, v * d), dh0 = Values(random, n * d);
        double[] dTable = Wide(dTable0);
        Ref.Embedding.Backward(ids, Wide(dy), dTable, n, d);
        var mag = dTable0.Select(x => (double)Math.Abs(x)).ToArray();
        for (int t = 0; t < n; t++) for (int i = 0; i < d; i++) mag[ids[t] * d + i] += Math.Abs(dy[t * d + i]);
        // RowGather backward: a random set of distinct rows (a prefix of a permutation) scatter-added into dh.
        int r = random.Next(n + 1);
        int[] rows = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Take(r).ToArray();
        float[] dSel = Values(random, r * d);
        double[] dh = Wide(dh0);
        for (int j = 0; j < r; j++) for (int i = 0; i < d; i++) dh[rows[j] * d + i] += dSel[j * d + i];

        var order = new int[n];
        var starts = new int[v + 1];
        Embedding.Index(ids, v, order, starts);
        using var orderB = Upload(Acc, order); using var startsB = Upload(Acc, starts); using var dyb = Upload(Acc, dy); using var dtb = Upload(Acc, dTable0);
        using var rowsB = Upload(Acc, rows); using var dSelB = Upload(Acc, dSel); using var dhb = Upload(Acc, dh0);
        int longest = Enumerable.Range(0, v).Max(id => starts[id + 1] - starts[id]);
        Embedding.Backward(TrainKernels, orderB.View, startsB.View, dyb.View, dtb.View, v, d, longest);
        RowGather.Backward(TrainKernels, dSelB.View, rowsB.View, dhb.View, r, d);
        Near($"dE {c}", Run(dtb, v * d), dTable, i => mag[i], n + 1, c: 1);
        Near($"dh {c} rows {r}", Run(dhb, n * d), dh, i => Math.Abs(dh0[i]) + Math.Abs(dh[i] - dh0[i]), 2, c: 1);
    });

    public sealed record Heads(int Batch, int Tokens, int KvHeads, int Group, int HeadDim, bool Causal, int Seed);

    private static Arbitrary<Heads> HeadCases =>
        (from b in Gen.Choose(1, 3) from t in Around(TrainKernels.MatMulTile * 2) from kv in Gen.Choose(1, 2) from g in Gen.Choose(1, 3)
         from dh in EvenSize(5) from causal in Gen.Elements(true, false) from seed in Seed
         select new Heads(b, t, kv, g, dh, causal, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 15)]
    public Property AttentionAndRopeMatchReference() => Prop.ForAll(HeadCases, c =>
    {
        var random = new Random(c.Seed);
        int b = c.Batch, t = c.Tokens, hkv = c.KvHeads, h = hkv * c.Group, dh = c.HeadDim, n = b * t;
        float[] q = Values(random, n * h * dh), k = Values(random, n * hkv * dh), v = Values(random, n * hkv * dh), dout = Values(random, n * h * dh);
        var o = new double[n * h * dh];
        var dq = new double[n * h * dh];
        var dk = new double[n * hkv * dh];
        var dv = new double[n * hkv * dh];
        for (int s = 0; s < b; s++)
        {
            double[] Slice(float[] a, int width) => a.Skip(s * t * width).Take(t * width).Select(x => (double)x).ToArray();
            int qw = h * dh, kw = hkv * dh;
            double[] qs = Slice(q, qw), ks = Slice(k, kw), vs = Slice(v, kw), dos = Slice(dout, qw);
            var os = new double[t * qw]; var dqs = new double[t * qw]; var dks = new double[t * kw]; var dvs = new double[t * kw];
            Ref.Attention.Forward(qs, ks, vs, null, c.Causal, os, t, h, hkv, dh);
            Ref.Attention.Backward(qs, ks, vs, null, c.Causal, dos, dqs, dks, dvs, t, h, hkv, dh);
            os.CopyTo(o, s * t * qw); dqs.CopyTo(dq, s * t * qw); dks.CopyTo(dk, s * t * kw); dvs.CopyTo(dv, s * t * kw);
        }
        // RoPE backward on the query gradient (positions 0..T−1 per sequence), against the reference's rotation.
        var (cos, sin) = Ref.RotaryEmbedding.Tables<float>(Enumerable.Range(0, n).Select(i => i % t).ToArray(), n, dh, 10000.0);
        var (cosT, sinT) = Ref.RotaryEmbedding.Tables<float>(Enumerable.Range(0, t).ToArray(), t, dh, 10000.0);
        float[] g = Values(random, n * h * dh);
        float[] rotated = (float[])g.Clone();
        Ref.RotaryEmbedding.Backward(rotated, cos, sin, n, h, dh);
        var ropeMag = new double[g.Length];
        for (int i = 0; i < g.Length; i++)
        {
            int j = i % dh, half = dh / 2, row = i / (h * dh), jj = j % half;
            double cc = Math.Abs(cos[row * half + jj]), ss = Math.Abs(sin[row * half + jj]);
            ropeMag[i] = Math.Abs(g[i]) * cc + Math.Abs(g[j < half ? i + half : i - half]) * ss;
        }

        using var qb = Upload(Acc, q); using var kb = Upload(Acc, k); using var vb = Upload(Acc, v); using var dob = Upload(Acc, dout);
        using var pb = Acc.Allocate1D<float>((long)b * h * t * t); using var ob = Acc.Allocate1D<float>(n * h * dh);
        using var dsb = Acc.Allocate1D<float>((long)b * h * t * t); using var dhb = Acc.Allocate1D<float>(n * h * dh);
        using var dqb = Acc.Allocate1D<float>(n * h * dh); using var dkb = Acc.Allocate1D<float>(n * hkv * dh); using var dvb = Acc.Allocate1D<float>(n * hkv * dh);
        using var gb = Upload(Acc, g); using var cb = Upload(Acc, cosT); using var sb = Upload(Acc, sinT);
        Attention.Forward(TrainKernels, qb.View, kb.View, vb.View, c.Causal, pb.View, ob.View, b, t, h, hkv, dh);
        Attention.Backward(TrainKernels, qb.View, kb.View, vb.View, pb.View, dob.View, dsb.View, dhb.View, dqb.View, dkb.View, dvb.View, b, t, h, hkv, dh);
        RotaryEmbedding.Backward(TrainKernels, gb.View, cb.View, sb.View, n, t, h, dh);
        int terms = 2 * t + 2 * dh + 16;
        NearNormwise($"o {c}", Run(ob, o.Length), o, terms, 8);
        NearNormwise($"dq {c}", Run(dqb, dq.Length), dq, terms, 8);
        NearNormwise($"dk {c}", Run(dkb, dk.Length), dk, terms * c.Group, 8);
        NearNormwise($"dv {c}", Run(dvb, dv.Length), dv, terms * c.Group, 8);
        Close($"rope {c}", Run(gb, g.Length), rotated, i => 1e-30 + 4 * U * ropeMag[i]);
    });

    /// <summary>
    /// Mixed-precision attention (the <see cref="AttentionBf16"/> path: the six products on <see cref="TensorCoreGemm"/>,
    /// P and dS rounded to bf16 by the softmax kernels, q and k by RoPE) against the float64 reference evaluated on
    /// the bf16-rounded q, k, v and dO, so what is left is the rounding of P and dS to bf16 (u_bf = 2^-8 relative: 8
    /// significant bits) before their one product each: |o − ref| ≤ u_bf·Σ_s P|v| and likewise Pᵀ|dO|, |dS|·|k|,
    /// |dS|ᵀ|q| for dv, dq, dk, bounded with slack 1.5 — 3·2^-9 — for the f32 accumulation and the tensor-core adds,
    /// plus the f32 path's normwise bound for the softmax and its backward. On CUDA Dh is rounded up to a multiple of 8 (the path's precondition).
    /// </summary>
    [IlgpuProperty(MaxTest = 15)]
    public Property Bf16AttentionMatchesReference() => Prop.ForAll(HeadCases, c =>
    {
        const double HalfUBf16 = 1.0 / 512;   // 2^-9, half of bf16's unit roundoff
        var random = new Random(c.Seed);
        int b = c.Batch, t = c.Tokens, hkv = c.KvHeads, h = hkv * c.Group, n = b * t, group = c.Group;
        int dh = TrainKernels.IsCuda ? (c.HeadDim + 7) / 8 * 8 : c.HeadDim;
        Assert.True(Attention.TensorCoresFit(TrainKernels, dh));
        float[] Rounded(int count) => Values(random, count).Select(x => Bf16Round(x)).ToArray();
        float[] q = Rounded(n * h * dh), k = Rounded(n * hkv * dh), v = Rounded(n * hkv * dh), dout = Rounded(n * h * dh);
        int qw = h * dh, kw = hkv * dh;
        var o = new double[n * qw]; var dq = new double[n * qw]; var dk = new double[n * kw]; var dv = new double[n * kw];
        var magO = new double[n * qw]; var magDq = new double[n * qw]; var magDk = new double[n * kw]; var magDv = new double[n * kw];
        double scale = 1 / Math.Sqrt(dh);
        for (int s = 0; s < b; s++)
        {
            double[] Slice(float[] a, int width) => a.Skip(s * t * width).Take(t * width).Select(x => (double)x).ToArray();
            double[] qs = Slice(q, qw), ks = Slice(k, kw), vs = Slice(v, kw), dos = Slice(dout, qw);
            var os = new double[t * qw]; var dqs = new double[t * qw]; var dks = new double[t * kw]; var dvs = new double[t * kw];
            Ref.Attention.Forward(qs, ks, vs, null, c.Causal, os, t, h, hkv, dh);
            Ref.Attention.Backward(qs, ks, vs, null, c.Causal, dos, dqs, dks, dvs, t, h, hkv, dh);
            os.CopyTo(o, s * t * qw); dqs.CopyTo(dq, s * t * qw); dks.CopyTo(dk, s * t * kw); dvs.CopyTo(dv, s * t * kw);
            // P and dS in float64, for the magnitudes of the products they enter after rounding.
            for (int hh = 0; hh < h; hh++)
            {
                int g = hh / group;
                var p = new double[t * t]; var ds = new double[t * t];
                for (int i = 0; i < t; i++)
                {
                    int visible = c.Causal ? i + 1 : t;
                    double max = double.NegativeInfinity, sum = 0, dot = 0;
                    for (int j = 0; j < visible; j++)
                    {
                        double z = 0;
                        for (int d = 0; d < dh; d++) z += qs[i * qw + hh * dh + d] * ks[j * kw + g * dh + d];
                        p[i * t + j] = z * scale;
                        max = Math.Max(max, z * scale);
                    }
                    for (int j = 0; j < visible; j++) { p[i * t + j] = Math.Exp(p[i * t + j] - max); sum += p[i * t + j]; }
                    for (int j = 0; j < visible; j++) p[i * t + j] /= sum;
                    for (int j = 0; j < visible; j++)
                    {
                        double dp = 0;
                        for (int d = 0; d < dh; d++) dp += dos[i * qw + hh * dh + d] * vs[j * kw + g * dh + d];
                        ds[i * t + j] = dp;
                        dot += p[i * t + j] * dp;
                    }
                    for (int j = 0; j < visible; j++) ds[i * t + j] = p[i * t + j] * (ds[i * t + j] - dot) * scale;
                }
                for (int i = 0; i < t; i++)
                for (int j = 0; j < t; j++)
                for (int d = 0; d < dh; d++)
                {
                    magO[(s * t + i) * qw + hh * dh + d] += p[i * t + j] * Math.Abs(vs[j * kw + g * dh + d]);
                    magDv[(s * t + j) * kw + g * dh + d] += p[i * t + j] * Math.Abs(dos[i * qw + hh * dh + d]);
                    magDq[(s * t + i) * qw + hh * dh + d] += Math.Abs(ds[i * t + j]) * Math.Abs(ks[j * kw + g * dh + d]);
                    magDk[(s * t + j) * kw + g * dh + d] += Math.Abs(ds[i * t + j]) * Math.Abs(qs[i * qw + hh * dh + d]);
                }
            }
        }

        int tp = Attention.PaddedTokens(t);
        ushort[] Bits(float[] a) => a.Select(x => (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16)).ToArray();
        using var qb = Upload(Acc, q); using var kb = Upload(Acc, k); using var vb = Upload(Acc, v); using var dob = Upload(Acc, dout);
        using var q16 = Acc.Allocate1D<ushort>(q.Length); using var k16 = Acc.Allocate1D<ushort>(k.Length);
        using var v16 = Upload(Acc, Bits(v)); using var do16 = Upload(Acc, Bits(dout));
        using var p16 = Acc.Allocate1D<ushort>((long)b * h * t * tp); using var ds16 = Acc.Allocate1D<ushort>((long)b * h * t * tp);
        using var pb = Acc.Allocate1D<float>((long)b * h * t * t); using var ob = Acc.Allocate1D<float>(n * qw);
        using var dsb = Acc.Allocate1D<float>((long)b * h * t * t); using var dhb = Acc.Allocate1D<float>(n * qw);
        using var dqb = Acc.Allocate1D<float>(n * qw); using var dkb = Acc.Allocate1D<float>(n * kw); using var dvb = Acc.Allocate1D<float>(n * kw);
        // RoPE at angle 0 (cos 1, sin 0) leaves q and k as they are and writes their bf16 copies: the trainer's route.
        var ones = Enumerable.Repeat(1f, t * (dh / 2)).ToArray();
        using var cb = Upload(Acc, ones); using var sb = Upload(Acc, new float[t * (dh / 2)]);
        RotaryEmbedding.Apply(TrainKernels, qb.View, cb.View, sb.View, n, t, h, dh, q16.View);
        RotaryEmbedding.Apply(TrainKernels, kb.View, cb.View, sb.View, n, t, hkv, dh, k16.View);
        var half = new AttentionBf16(q16.View, k16.View, v16.View, p16.View, do16.View, ds16.View);
        Attention.Forward(TrainKernels, qb.View, kb.View, vb.View, c.Causal, pb.View, ob.View, b, t, h, hkv, dh, half);
        Attention.Backward(TrainKernels, qb.View, kb.View, vb.View, pb.View, dob.View, dsb.View, dhb.View, dqb.View, dkb.View, dvb.View, b, t, h, hkv, dh, half);

        // The pads of the P and dS copies are zero.
        var pBits = p16.GetAsArray1D();
        var dsBits = ds16.GetAsArray1D();
        for (long row = 0; row < (long)b * h * t; row++)
            for (int j = t; j < tp; j++)
                Assert.True(pBits[row * tp + j] == 0 && dsBits[row * tp + j] == 0, $"pad of row {row} column {j} not zero {c}");

        int terms = 2 * t + 2 * dh + 16;
        void Check(string what, float[] actual, double[] expected, double[] mag, int fTerms)
        {
            double normwise = 8 * Gamma(fTerms) * (expected.Length == 0 ? 0 : expected.Max(Math.Abs));
            Close($"{what} {c} dh {dh}", actual, expected.Select(x => (float)x).ToArray(), i => 1e-30 + 3 * HalfUBf16 * mag[i] + normwise);
        }
        Check("o", Run(ob, o.Length), o, magO, terms);
        Check("dq", Run(dqb, dq.Length), dq, magDq, terms);
        Check("dk", Run(dkb, dk.Length), dk, magDk, terms * group);
        Check("dv", Run(dvb, dv.Length), dv, magDv, terms * group);
    });

    private static float Bf16Round(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
    }

    public sealed record Logits(int Rows, int Vocab, int Seed);

    private static Arbitrary<Logits> LogitCases =>
        (from r in Size(20) from v in Around(TrainKernels.ReductionGroupSize) from seed in Seed select new Logits(r, v, seed)).ToArbitrary();

    [IlgpuProperty(MaxTest = 20)]
    public Property CrossEntropyAndSwiGluMatchReference() => Prop.ForAll(LogitCases, c =>
    {
        var random = new Random(c.Seed);
        int r = c.Rows, v = c.Vocab;
        float[] z = Values(random, r * v, 4f), w = Values(random, r).Select(x => Math.Abs(x)).ToArray();
        int[] targets = Enumerable.Range(0, r).Select(_ => random.Next(v)).ToArray();
        double loss = Ref.CrossEntropy.Forward(Wide(z), targets, Wide(w), r, v);
        var dz = new double[r * v];
        Ref.CrossEntropy.Backward(Wide(z), targets, Wide(w), 1.0, dz, r, v);

        float[] gate = Values(random, r * v, 6f), up = Values(random, r * v), dOut = Values(random, r * v);
        float[] dg0 = Values(random, r * v), du0 = Values(random, r * v);
        double[] dg = Wide(dg0), du = Wide(du0);
        Ref.SwiGlu.Backward(Wide(gate), Wide(up), Wide(dOut), dg, du, r * v);

        using var zb = Upload(Acc, z); using var wb = Upload(Acc, w); using var tb = Upload(Acc, targets);
        using var dzb = Acc.Allocate1D<float>(r * v); using var terms = Acc.Allocate1D<float>(r); using var lossB = Acc.Allocate1D<float>(1);
        using var gateB = Upload(Acc, gate); using var upB = Upload(Acc, up); using var doB = Upload(Acc, dOut); using var dgB = Upload(Acc, dg0); using var duB = Upload(Acc, du0);
        CrossEntropy.Run(TrainKernels, zb.View, tb.View, wb.View, dzb.View, terms.View, lossB.View, r, v);
        SwiGlu.Backward(TrainKernels, gateB.View, upB.View, doB.View, dgB.View, duB.View, r * v);

        float[] dzK = Run(dzb, r * v);
        for (int row = 0; row < r; row++)
        {
            double[] expectedRow = dz.Skip(row * v).Take(v).ToArray();
            double scale = Math.Max(expectedRow.Max(Math.Abs), w[row]);
            Near($"dz row {row} {c}", dzK.Skip(row * v).Take(v).ToArray(), expectedRow, _ => scale, v + 8, 4);
        }
        double termMag = 0;
        for (int row = 0; row < r; row++) termMag += w[row] * (Math.Abs(z.Skip(row * v).Take(v).Max()) + Math.Log(v) + 4 + Math.Abs(z[row * v + targets[row]]));
        Near($"loss {c}", Run(lossB, 1), [loss], _ => termMag, r + v + 8, 4);
        Close($"dgate {c}", Run(dgB, r * v), dg.Select(x => (float)x).ToArray(),
            i => 1e-30 + 16 * U * Math.Abs(dg[i]) + 8 * U * (Math.Abs(dg0[i]) + Math.Abs(dOut[i] * up[i]) * (1 + Math.Abs(gate[i]))));
        Close($"dup {c}", Run(duB, r * v), du.Select(x => (float)x).ToArray(),
            i => 1e-30 + 16 * U * Math.Abs(du[i]) + 8 * U * (Math.Abs(du0[i]) + Math.Abs(dOut[i] * gate[i])));
    });

    [IlgpuProperty(MaxTest = 10)]
    public Property AdamWAndNormMatchTheHost(PositiveInt size, int seed)
    {
        var random = new Random(seed);
        int n = 1 + size.Get % 300;
        float[] theta = Values(random, n), grad = Values(random, n), m = Values(random, n, 0.1f), v = Values(random, n, 0.1f).Select(x => Math.Abs(x)).ToArray();
        double norm = Math.Sqrt(grad.Sum(g => (double)g * g));
        using var tb = Upload(Acc, theta); using var gb = Upload(Acc, grad); using var mb = Upload(Acc, m); using var vb = Upload(Acc, v);
        using var partials = Acc.Allocate1D<float>(TrainKernels.NormGroups);
        double deviceNorm = GradientClipping.Norm(TrainKernels, gb.View, partials.View, new float[TrainKernels.NormGroups]);
        const double lr = 1e-2, decay = 0.99, scale = 0.5;
        var step = new AdamWStep { Decay = (float)decay, StepSize = (float)(lr / (1 - 0.9 * 0.9)), RootCorrection2 = (float)Math.Sqrt(1 - 0.98 * 0.98),
            Beta1 = 0.9f, Beta2 = 0.98f, Epsilon = 1e-8f, GradientScale = (float)scale };
        AdamW.Step(TrainKernels, tb.View, gb.View, mb.View, vb.View, step);
        float[] mk = Run(mb, n), vk = Run(vb, n), tk = Run(tb, n);
        for (int i = 0; i < n; i++)
        {
            float g = grad[i] * (float)scale;
            float me = 0.9f * m[i] + (1 - 0.9f) * g, ve = 0.98f * v[i] + (1 - 0.98f) * g * g;
            float denominator = MathF.Sqrt(ve) / step.RootCorrection2 + step.Epsilon;
            float te = theta[i] * step.Decay - step.StepSize * me / denominator;
            // The host's float32 arithmetic, operation for operation: equal up to the GPU's sqrt and fused multiply-adds.
            double mBound = 4 * U * (Math.Abs(me) + Math.Abs(g));
            Assert.True(Math.Abs(mk[i] - me) <= mBound, $"m[{i}] {mk[i]} vs {me}");
            Assert.True(Math.Abs(vk[i] - ve) <= 4 * U * (Math.Abs(ve) + g * g), $"v[{i}] {vk[i]} vs {ve}");
            // θ is computed from the device's own m, whose error (up to mBound) reaches the update divided by the
            // denominator: when β₁m and (1−β₁)g nearly cancel, that error is large next to the update itself — with
            // θ = 0 it is all of θ's error. (This property failed once on an H200 with the term missing; a float32
            // simulation of the fused multiply-adds fails that bound 267 times in 10^6 draws, never this one.) The
            // denominator's own error is relative (v's terms are both positive) and sits in the 16u of the update.
            Assert.True(Math.Abs(tk[i] - te) <= 16 * U * (Math.Abs(te) + Math.Abs(theta[i]) + Math.Abs(step.StepSize * me / denominator))
                + step.StepSize * mBound / denominator, $"θ[{i}] {tk[i]} vs {te}");
        }
        return (Math.Abs(deviceNorm - norm) <= Gamma(n) * norm + 1e-30).Label($"norm {deviceNorm} vs {norm}");
    }
}
