package org.transcnn.kernels;

/** The activations the fused kernels apply after a normalisation: none, or SiLU {@code z * sigmoid(z)}. */
public enum Activation {
    IDENTITY,
    SILU
}
