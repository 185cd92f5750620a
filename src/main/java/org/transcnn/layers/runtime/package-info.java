/**
 * The DL4J plumbing behind the layer configurations of {@link org.transcnn.layers}: the runtime layers DL4J
 * instantiates from them ({@link org.transcnn.layers.runtime.HMHSALayer},
 * {@link org.transcnn.layers.runtime.InvertedResidualLayer}, {@link org.transcnn.layers.runtime.BatchNormLayer},
 * {@link org.transcnn.layers.runtime.GemmConvLayer}, {@link org.transcnn.layers.runtime.DepthwiseConvLayer}), the
 * fused blocks' parameter initialisers, and the copies between ND4J's buffers and the Java arrays of
 * {@link org.transcnn.kernels}. Users build and save models through the configurations; nothing here is written
 * into a saved model (its JSON names configuration classes only), so these classes are public for the
 * configurations' sake, not as a stable API.
 */
package org.transcnn.layers.runtime;
