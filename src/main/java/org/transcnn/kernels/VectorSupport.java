package org.transcnn.kernels;

/**
 * Whether the Vector API ({@code jdk.incubator.vector}, an incubator module in JDK 17-25) is there: the JVM was
 * started with {@code --add-modules jdk.incubator.vector} (bin/transcnn and the tests do) and
 * {@code -Dtranscnn.vector=false} was not given. Without it the kernels use their plain-Java loops; nothing that
 * names a vector type is loaded.
 */
public final class VectorSupport {

    /** True when the kernels use {@link VectorMatmul}. */
    public static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("transcnn.vector"));

    private VectorSupport() {
    }
}
