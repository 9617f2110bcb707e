package org.sd3j.examples.cli;

import java.util.Iterator;

import org.sd3j.sampler.Samplers;

/** The sampler names on the class path, for {@code --sampler}'s help ({@code ${COMPLETION-CANDIDATES}}). */
final class SamplerNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
        return Samplers.availableNames().iterator();
    }
}
