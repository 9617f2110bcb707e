package org.sd3j.examples.shapes;

/** sRGB (D65) to CIELAB, with {@link StrictMath} so that every platform names a colour the same way. Stateless. */
final class Lab {
    private Lab() {
    }

    /** {@code {L, a, b}} of packed {@code 0xRRGGBB}. */
    static double[] of(int rgb) {
        double r = linear((rgb >> 16) & 0xff);
        double g = linear((rgb >> 8) & 0xff);
        double b = linear(rgb & 0xff);
        double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
        double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
        double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
        double fx = f(x);
        double fy = f(y);
        double fz = f(z);
        return new double[] {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
    }

    static double distanceSquared(double[] p, double[] q) {
        double dl = p[0] - q[0];
        double da = p[1] - q[1];
        double db = p[2] - q[2];
        return dl * dl + da * da + db * db;
    }

    private static double linear(int channel) {
        double c = channel / 255.0;
        return c <= 0.04045 ? c / 12.92 : StrictMath.pow((c + 0.055) / 1.055, 2.4);
    }

    private static double f(double t) {
        return t > 216.0 / 24389 ? StrictMath.cbrt(t) : (24389.0 / 27 * t + 16) / 116;
    }
}
