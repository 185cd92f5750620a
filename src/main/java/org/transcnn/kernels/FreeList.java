package org.transcnn.kernels;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * Kernel scratch objects (window buffers, shifted planes, conversion chunks) kept for reuse across calls and threads.
 * A lock-free queue, not thread-locals: Java 17 erases the thread-locals of the common pool's workers after every
 * task, so per-thread caches would be rebuilt on every parallel call. It holds at most as many objects as were in use
 * at once.
 */
public final class FreeList<T> {

    private final ConcurrentLinkedQueue<T> free = new ConcurrentLinkedQueue<>();

    /**
     * A free object that {@code fits}, or else {@code make} applied to the free object that did not fit ({@code null}
     * when there was none), so that a replacement can be sized to serve both.
     */
    public T take(Predicate<T> fits, UnaryOperator<T> make) {
        T t = free.poll();
        return t != null && fits.test(t) ? t : make.apply(t);
    }

    /** Puts {@code t} back for the next {@link #take}; the caller must not use it afterwards. */
    public void give(T t) {
        free.offer(t);
    }
}
