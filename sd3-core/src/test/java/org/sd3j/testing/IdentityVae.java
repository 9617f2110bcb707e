package org.sd3j.testing;

import java.util.concurrent.atomic.AtomicInteger;

import org.sd3j.model.LatentDistribution;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.Vae;
import org.sd3j.tensor.Tensor;

/**
 * A {@link Vae} for tests: a simple, exact, deterministic map between pixels and latents in the given
 * {@link LatentFormat} ({@code C} channels, downscale {@code f}), with no learned weights.
 *
 * <ul>
 *   <li><b>encode</b> {@code [B, 3, H, W] -> [B, C, H/f, W/f]}: latent channel {@code c} is the average pool
 *       (f x f, in double, cast to float) of image channel {@code c % 3}. The logvar is the constant
 *       {@link #logvar()} ({@link #DEFAULT_LOGVAR} = -30, the smallest the pipeline's sampling keeps, so a sample
 *       is the mean to within {@code exp(-15) ~ 3.1e-7} times the noise).</li>
 *   <li><b>decode</b> {@code [B, C, h, w] -> [B, 3, h*f, w*f]}: image channel {@code k} is latent channel
 *       {@code k % C}, upsampled by repeating each cell f x f times (nearest neighbour).</li>
 * </ul>
 * So {@code decode(encode(x)) == x} exactly for images constant on each f x f block (with {@code C >= 3}), and
 * {@code encode(decode(z)) == z} exactly for latents whose channel {@code c} equals channel {@code c % 3}. Both
 * work in VAE space: the pipeline applies the format's scaling and shift around them.
 *
 * <pre>{@code
 * IdentityVae vae = new IdentityVae(LatentFormat.SD3);   // 16 channels, x8
 * Sd3Pipeline.builder().vae(vae)...  // a 64x64 image <-> latents [1, 16, 8, 8]
 * }</pre>
 *
 * <p>Thread-safe; counts its calls.
 */
public final class IdentityVae implements Vae {
    /** The logvar every encoding reports unless another is given. */
    public static final float DEFAULT_LOGVAR = -30f;

    private final LatentFormat format;
    private final float logvar;
    private final AtomicInteger encodeCalls = new AtomicInteger();
    private final AtomicInteger decodeCalls = new AtomicInteger();

    /** SD3's format: 16 channels, downscale 8, scaling 1.5305, shift 0.0609. */
    public IdentityVae() {
        this(LatentFormat.SD3);
    }

    public IdentityVae(LatentFormat format) {
        this(format, DEFAULT_LOGVAR);
    }

    /** @param logvar the constant log-variance of every encoding (finite) */
    public IdentityVae(LatentFormat format, float logvar) {
        if (format == null) {
            throw new IllegalArgumentException("format must be non-null, found null");
        }
        if (!Float.isFinite(logvar)) {
            throw new IllegalArgumentException("logvar must be finite, found " + logvar);
        }
        this.format = format;
        this.logvar = logvar;
    }

    @Override
    public LatentFormat latentFormat() {
        return format;
    }

    /** The constant log-variance of every encoding. */
    public float logvar() {
        return logvar;
    }

    /**
     * Average-pools each f x f block.
     *
     * @throws IllegalArgumentException when {@code images} is not {@code [B, 3, H, W]} with H and W multiples of f
     */
    @Override
    public LatentDistribution encode(Tensor images) {
        encodeCalls.incrementAndGet();
        return new LatentDistribution(latentsOf(images), Tensor.full(logvar, latentShape(images)));
    }

    /** The mean {@link #encode} returns for {@code images}, without counting a call. */
    public Tensor latentsOf(Tensor images) {
        int[] out = latentShape(images);
        int f = format.downscale();
        int b = out[0];
        int c = out[1];
        int h = out[2];
        int w = out[3];
        int width = w * f;
        int imagePlane = h * f * width;
        Tensor latents = Tensor.zeros(out);
        for (int n = 0; n < b; n++) {
            for (int ch = 0; ch < c; ch++) {
                int src = (n * 3 + ch % 3) * imagePlane;
                int dst = (n * c + ch) * h * w;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        double sum = 0;
                        for (int dy = 0; dy < f; dy++) {
                            for (int dx = 0; dx < f; dx++) {
                                sum += images.get(src + (y * f + dy) * width + x * f + dx);
                            }
                        }
                        latents.set(dst + y * w + x, (float) (sum / (f * f)));
                    }
                }
            }
        }
        return latents;
    }

    /**
     * Upsamples by repetition.
     *
     * @throws IllegalArgumentException when {@code latents} is not {@code [B, C, h, w]} with the format's C
     */
    @Override
    public Tensor decode(Tensor latents) {
        decodeCalls.incrementAndGet();
        if (latents == null || latents.rank() != 4 || latents.dim(1) != format.channels()) {
            throw new IllegalArgumentException("latents must be [B, " + format.channels() + ", h, w], found "
                    + latents);
        }
        int f = format.downscale();
        int b = latents.dim(0);
        int c = latents.dim(1);
        int h = latents.dim(2);
        int w = latents.dim(3);
        int height = h * f;
        int width = w * f;
        Tensor images = Tensor.zeros(b, 3, height, width);
        for (int n = 0; n < b; n++) {
            for (int k = 0; k < 3; k++) {
                int src = (n * c + k % c) * h * w;
                int dst = (n * 3 + k) * height * width;
                for (int y = 0; y < height; y++) {
                    for (int x = 0; x < width; x++) {
                        images.set(dst + y * width + x, latents.get(src + (y / f) * w + x / f));
                    }
                }
            }
        }
        return images;
    }

    /** Number of {@link #encode} calls so far. */
    public int encodeCount() {
        return encodeCalls.get();
    }

    /** Number of {@link #decode} calls so far. */
    public int decodeCount() {
        return decodeCalls.get();
    }

    @Override
    public String toString() {
        return "IdentityVae[" + format + "]";
    }

    private int[] latentShape(Tensor images) {
        int f = format.downscale();
        if (images == null || images.rank() != 4 || images.dim(1) != 3 || images.dim(2) % f != 0
                || images.dim(3) % f != 0) {
            throw new IllegalArgumentException("images must be [B, 3, H, W] with H and W multiples of " + f
                    + ", found " + images);
        }
        return new int[] {images.dim(0), format.channels(), images.dim(2) / f, images.dim(3) / f};
    }
}
