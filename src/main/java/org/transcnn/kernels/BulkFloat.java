package org.transcnn.kernels;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * Bulk copies between a direct buffer (ND4J's memory) and a Java array, in chunks copied in parallel (absolute
 * positions, so the copies are thread-safe), and the chunking itself for loops over long arrays.
 *
 * <p>Written for float; the build generates the double twin {@code BulkDouble} (see {@link NormActFloat}).
 */
public final class BulkFloat {

    /** Values per chunk. */
    public static final int CHUNK = 1 << 14;

    private BulkFloat() {
    }

    /** Start offsets of the chunks of {@code n} values, in parallel when there are several. */
    public static IntStream chunks(int n) {
        IntStream starts = IntStream.range(0, (n + CHUNK - 1) / CHUNK).map(i -> i * CHUNK);
        return n > CHUNK ? starts.parallel() : starts;
    }

    /** The first {@code n} values of {@code src} (absolute positions from 0) into {@code dst[0, n)}. */
    public static void get(FloatBuffer src, float[] dst, int n) {
        chunks(n).forEach(start -> src.get(start, dst, start, Math.min(CHUNK, n - start)));
    }

    /** {@code src[0, n)} into the first {@code n} values of {@code dst}. */
    public static void put(float[] src, FloatBuffer dst, int n) {
        chunks(n).forEach(start -> dst.put(start, src, start, Math.min(CHUNK, n - start)));
    }

    /**
     * Channel {@code ch} of an NCHW batch {@code src} [b, c, p] (absolute positions from 0) into {@code dst[0, b*p)},
     * its planes image after image, on the calling thread.
     */
    public static void getChannel(FloatBuffer src, int b, int c, int ch, int p, float[] dst) {
        for (int n = 0; n < b; n++) {
            src.get((n * c + ch) * p, dst, n * p, p);
        }
    }

    /** The inverse of {@link #getChannel}: {@code src[0, b*p)} into channel {@code ch} of {@code dst} [b, c, p]. */
    public static void putChannel(float[] src, FloatBuffer dst, int b, int c, int ch, int p) {
        for (int n = 0; n < b; n++) {
            dst.put((n * c + ch) * p, src, n * p, p);
        }
    }

    /**
     * {@code v[plane n] *= mask[n * c + ch]}, then {@code *= path[n]}, for the b planes of channel {@code ch} gathered
     * in {@code v} ({@link #getChannel}), on the calling thread; either factor may be null (none).
     */
    public static void scaleChannel(float[] v, int b, int c, int ch, int p, float[] mask, float[] path) {
        for (int n = 0; n < b; n++) {
            if (mask != null) {
                float m = mask[n * c + ch];
                for (int j = n * p; j < (n + 1) * p; j++) {
                    v[j] *= m;
                }
            }
            if (path != null) {
                float q = path[n];
                for (int j = n * p; j < (n + 1) * p; j++) {
                    v[j] *= q;
                }
            }
        }
    }

    /** {@code v[plane i] *= mask[i]} for every plane of {@code p} values, in parallel; nothing when mask is null. */
    public static void scalePlanes(float[] v, float[] mask, int p) {
        if (mask == null) {
            return;
        }
        IntStream.range(0, mask.length).parallel().forEach(i -> {
            float m = mask[i];
            for (int j = i * p; j < (i + 1) * p; j++) {
                v[j] *= m;
            }
        });
    }

    /** {@code dst[i] += src[i]} for {@code i < n}, in parallel chunks. */
    public static void add(float[] dst, float[] src, int n) {
        chunks(n).forEach(start -> {
            for (int i = start, end = Math.min(start + CHUNK, n); i < end; i++) {
                dst[i] += src[i];
            }
        });
    }
}
