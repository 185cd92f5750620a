package org.transcnn.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The pom's "plain-loops" surefire run (official parity, gradients and edge windows in a JVM without the Vector API,
 * as a library user's is unless they add the module) really runs without it; in the default run, with it.
 */
class PlainLoopsTest {

    @Test
    void theVectorApiIsThereExactlyWhenTheRunExpectsIt() {
        boolean plain = Boolean.getBoolean("transcnn.test.plainLoops");
        if (plain) {
            assertFalse(VectorSupport.AVAILABLE, "the plain-loops run must not load jdk.incubator.vector");
        } else {
            assumeTrue(System.getProperty("transcnn.vector") == null, "the Vector API was turned off by hand");
            assertTrue(VectorSupport.AVAILABLE, "surefire's default run adds --add-modules jdk.incubator.vector");
        }
    }
}
