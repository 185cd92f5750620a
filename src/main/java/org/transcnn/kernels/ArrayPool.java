package org.transcnn.kernels;

/**
 * Where a kernel takes its large temporary arrays from and gives them back to (a pool that reuses them by length,
 * or plain allocation). A kernel gives back exactly what it took, once, before it returns.
 *
 * @param <A> {@code float[]} or {@code double[]}
 */
public interface ArrayPool<A> {

    /**
     * An array of at least {@code n} values with unspecified contents; it may be longer (a pool may hand out a longer
     * free array), so the kernel uses its first {@code n} values and never its {@code length}.
     */
    A take(int n);

    /** Gives {@code array} back; the kernel no longer touches it. */
    void give(A array);
}
