package org.sd3j.train.data;

import java.util.List;

import org.sd3j.conditioning.ConditioningLayout;
import org.sd3j.model.EncodedText;
import org.sd3j.model.EncoderRole;
import org.sd3j.model.LatentFormat;
import org.sd3j.model.TextEncoder;
import org.sd3j.testing.FakeTextEncoder;
import org.sd3j.testing.IdentityVae;

/** A small SD3-shaped model of fakes: three encoders of a few features, a 4-channel x8 identity VAE. */
final class SmallModel {
    static final ConditioningLayout LAYOUT = ConditioningLayout.builder()
            .slot(EncoderRole.CLIP_L, 4, 8, 8)
            .slot(EncoderRole.CLIP_G, 4, 12, 6)
            .slot(EncoderRole.T5, 6, 16, 0)
            .contextDim(24)
            .build();
    static final LatentFormat FORMAT = new LatentFormat(4, 8, 1.5305, 0.0609);
    /** The identity VAE's constant VAE-space log-variance. */
    static final float LOGVAR = -2f;

    private SmallModel() {
    }

    static FakeTextEncoder[] encoders() {
        return FakeTextEncoder.forLayout(LAYOUT);
    }

    static IdentityVae vae() {
        return new IdentityVae(FORMAT, LOGVAR);
    }

    static EncodingModel model() {
        return new EncodingModel("small", LAYOUT, List.of(encoders()), vae());
    }

    /** The same shapes, but one encoder's outputs scaled: what other weights look like. */
    static EncodingModel withScaledEncoder(EncoderRole role, float factor) {
        List<TextEncoder> encoders = new java.util.ArrayList<>();
        for (FakeTextEncoder e : encoders()) {
            encoders.add(e.role().equals(role) ? scaled(e, factor) : e);
        }
        return new EncodingModel("small", LAYOUT, encoders, vae());
    }

    private static TextEncoder scaled(TextEncoder e, float factor) {
        return new TextEncoder() {
            @Override
            public EncoderRole role() {
                return e.role();
            }

            @Override
            public EncodedText encode(List<String> prompts) {
                EncodedText out = e.encode(prompts);
                return new EncodedText(out.tokens().copy().scale(factor),
                        out.pooled() == null ? null : out.pooled().copy().scale(factor));
            }
        };
    }
}
