package org.sd3j.onnx.tokenizer;

/**
 * Keeps DJL offline: DJL's engine and tokenizer code may download native libraries and send telemetry
 * unless told not to. Before the first DJL use this sets the system properties {@code ai.djl.offline=true}
 * and {@code OPT_OUT_TRACKING=true}, unless the user already set them (as system properties, or as the
 * environment variables {@code DJL_OFFLINE} / {@code OPT_OUT_TRACKING}, which DJL also reads).
 */
final class DjlOffline {
    static final String OFFLINE_PROPERTY = "ai.djl.offline";
    static final String OFFLINE_ENV = "DJL_OFFLINE";
    static final String TRACKING = "OPT_OUT_TRACKING";

    private DjlOffline() {
    }

    static synchronized void ensure() {
        setUnlessUserSet(OFFLINE_PROPERTY, OFFLINE_ENV);
        setUnlessUserSet(TRACKING, TRACKING);
    }

    private static void setUnlessUserSet(String property, String env) {
        if (System.getProperty(property) == null && System.getenv(env) == null) {
            System.setProperty(property, "true");
        }
    }
}
