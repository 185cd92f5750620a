package org.transcnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention window's transposing copy of a token-major map (a token's channels side by side) into channel rows
 * ({@link AttentionFloat#gatherTokens}, same contract) with the Vector API's indexed loads: one vector holds one
 * channel of a run of tokens, gathered from their positions in the map, so each row is written a vector at a time
 * where the plain loop writes one value into each of d rows per token. The same multiply per value as the plain loop,
 * so the same bits. (The reverse copy stays plain: the indexed stores measured slower.)
 * Used only when {@link VectorSupport#AVAILABLE}; the last tokens (fewer than a vector) by the plain loops.
 */
final class VectorTokens {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorTokens() {
    }

    /** Double precision: the plain loops of the generated twin (the Vector API form is written for float). */
    static void gather(double[] src, int first, int[] idx, int n, int d, double scale, double[][] rows) {
        AttentionDouble.gatherTokens(src, first, idx, 0, n, d, scale, rows);
    }

    static void gather(float[] src, int first, int[] idx, int n, int d, float scale, float[][] rows) {
        int bound = S.loopBound(n);
        for (int j = 0; j < d; j++) {
            float[] row = rows[j];
            for (int t = 0; t < bound; t += L) {
                FloatVector.fromArray(S, src, first + j, idx, t).mul(scale).intoArray(row, t);
            }
        }
        AttentionFloat.gatherTokens(src, first, idx, bound, n, d, scale, rows);
    }
}
