using EfficientML.Core;

namespace EfficientML.Vision;

/// <summary>
/// What stays the same for one face through a scene: its proportions and tone. Drawn at random per face so a model
/// cannot learn one face.
/// </summary>
/// <param name="HeadWidth">Head ellipse half-width as a share of half the crop (0.6 … 0.9).</param>
/// <param name="HeadHeight">Head ellipse half-height as a share of half the crop (0.75 … 0.95).</param>
/// <param name="Skin">Skin brightness (0.45 … 0.8; the background is 0.15).</param>
/// <param name="EyeSpacing">Eye centres from the middle, as a share of the head half-width (0.3 … 0.45).</param>
/// <param name="MouthWidth">Mouth half-width as a share of the head half-width (0.25 … 0.4).</param>
public sealed record FaceLook(double HeadWidth, double HeadHeight, double Skin, double EyeSpacing, double MouthWidth)
{
    /// <summary>A face drawn from <paramref name="rng"/>.</summary>
    public static FaceLook Random(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return new(0.6 + 0.3 * rng.NextDouble(), 0.75 + 0.2 * rng.NextDouble(), 0.45 + 0.35 * rng.NextDouble(),
            0.3 + 0.15 * rng.NextDouble(), 0.25 + 0.15 * rng.NextDouble());
    }
}

/// <summary>What changes from frame to frame.</summary>
/// <param name="Mouth">Mouth opening, 0 (closed) … 1 (wide).</param>
/// <param name="Eyes">Eye opening, 1 open … 0 shut (blinks).</param>
/// <param name="OffsetX">Head position from the centre of the crop, in pixels (jitter).</param>
/// <param name="OffsetY">The same, vertically.</param>
/// <param name="Gain">Lighting: pixel values are scaled by this …</param>
/// <param name="Bias">… and shifted by this.</param>
public sealed record FaceState(double Mouth, double Eyes = 1, double OffsetX = 0, double OffsetY = 0, double Gain = 1, double Bias = 0);

/// <summary>
/// Draws a grayscale face crop: a head ellipse on a dark background, two eyes that can blink, and a mouth whose height
/// follows the opening; soft edges, lighting and pixel noise. Procedural faces test audio-visual synchrony, not the
/// recognition of real faces.
/// </summary>
public static class FaceRenderer
{
    /// <summary>Side of a face crop in pixels.</summary>
    public const int Size = 48;

    /// <summary>Background brightness.</summary>
    public const double Background = 0.15;

    /// <summary>Brightness of the open mouth and of the eyes.</summary>
    public const double Dark = 0.05;

    /// <summary>Tallest mouth half-height (wide open), as a share of the head half-height.</summary>
    public const double MouthHeight = 0.22;

    /// <summary>Renders one crop into <paramref name="pixels"/> (<see cref="Size"/>², row by row); <paramref name="noise"/> adds N(0, <paramref name="noiseLevel"/>).</summary>
    public static void Render(FaceLook look, FaceState state, Span<float> pixels, Random? noise = null, double noiseLevel = 0)
    {
        ArgumentNullException.ThrowIfNull(look);
        ArgumentNullException.ThrowIfNull(state);
        if (pixels.Length != Size * Size) throw new InvalidSettingsException($"A face crop has {Size}×{Size} pixels, not {pixels.Length}.");
        var g = Geometry(look, state);
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
            {
                double px = x + 0.5, py = y + 0.5;
                double v = Blend(Background, look.Skin, Inside(px, py, g.Cx, g.Cy, g.Rx, g.Ry));
                for (int side = -1; side <= 1; side += 2)
                    v = Blend(v, Dark, Inside(px, py, g.Cx + side * g.EyeDx, g.EyeY, g.EyeRx, g.EyeRy));
                v = Blend(v, Dark, Inside(px, py, g.Cx, g.MouthY, g.MouthRx, g.MouthRy));
                v = state.Gain * v + state.Bias;
                if (noise is not null && noiseLevel > 0) v += noiseLevel * Gaussian(noise);
                pixels[y * Size + x] = (float)Math.Clamp(v, 0, 1);
            }
    }

    /// <summary>One crop as a new array.</summary>
    public static float[] Render(FaceLook look, FaceState state, Random? noise = null, double noiseLevel = 0)
    {
        var pixels = new float[Size * Size];
        Render(look, state, pixels, noise, noiseLevel);
        return pixels;
    }

    /// <summary>
    /// The mouth opening read back from a rendered crop: the dark area in the box the widest mouth would fill, over that
    /// widest mouth's area (undoing the lighting first). A check that the pixels say what the curve says.
    /// </summary>
    public static double MeasureMouth(ReadOnlySpan<float> pixels, FaceLook look, FaceState state)
    {
        var g = Geometry(look, state);
        double tallest = MouthHeight * g.Ry, threshold = (Dark + look.Skin) / 2, dark = 0;
        for (int y = (int)Math.Floor(g.MouthY - tallest); y <= (int)Math.Ceiling(g.MouthY + tallest); y++)
            for (int x = (int)Math.Floor(g.Cx - g.MouthRx); x <= (int)Math.Ceiling(g.Cx + g.MouthRx); x++)
                if (x >= 0 && y >= 0 && x < Size && y < Size && (pixels[y * Size + x] - state.Bias) / state.Gain < threshold) dark++;
        return dark / (Math.PI * g.MouthRx * tallest);
    }

    readonly record struct Shape(double Cx, double Cy, double Rx, double Ry, double EyeDx, double EyeY, double EyeRx, double EyeRy,
        double MouthY, double MouthRx, double MouthRy);

    static Shape Geometry(FaceLook look, FaceState state)
    {
        double half = Size / 2.0, cx = half + state.OffsetX, cy = half + state.OffsetY, rx = look.HeadWidth * half, ry = look.HeadHeight * half;
        return new(cx, cy, rx, ry, look.EyeSpacing * rx, cy - 0.25 * ry, 0.14 * rx, Math.Max(0.4, 0.09 * ry * state.Eyes),
            cy + 0.45 * ry, look.MouthWidth * rx, Math.Max(0.35, MouthHeight * ry * Math.Clamp(state.Mouth, 0, 1)));
    }

    /// <summary>1 inside the ellipse, 0 outside, a one-pixel ramp across its edge.</summary>
    static double Inside(double x, double y, double cx, double cy, double rx, double ry)
    {
        double u = (x - cx) / rx, w = (y - cy) / ry, d = Math.Sqrt(u * u + w * w);
        double pixelsFromEdge = (1 - d) * Math.Min(rx, ry);
        return Math.Clamp(pixelsFromEdge + 0.5, 0, 1);
    }

    static double Blend(double under, double over, double coverage) => under + (over - under) * coverage;

    /// <summary>A standard normal draw (Box–Muller) from <paramref name="rng"/>.</summary>
    internal static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
