package org.transcnn.kernels;
/**
 * The SiLU loops of NormActFloat (plain Java, left to C2's vectoriser) against VectorNormAct's (Vector API) on
 * 8 x 256 planes of P pixels (8,388,608 values at P = 4096): y = silu(x * s + t) and its gradient, every 20th of 60
 * calls printed, for each P in turn in one JVM. Usage (after mvn compile): javac --add-modules jdk.incubator.vector -cp target/classes -d /tmp/nb
 * benchmarks/kernels/org/transcnn/kernels/NormBench.java; java --add-modules jdk.incubator.vector -cp
 * target/classes:/tmp/nb org.transcnn.kernels.NormBench P...
 */
public class NormBench {
  public static void main(String[] a) {
    for (String p : a) run(Integer.parseInt(p));
  }

  static void run(int plane) {
    int n = 8 * 256 * 4096 / plane * plane;
    float[] x = new float[n], y = new float[n], dy = new float[n], dx = new float[n];
    java.util.Random r = new java.util.Random(1);
    for (int i = 0; i < n; i++) { x[i] = r.nextFloat() * 4 - 2; dy[i] = r.nextFloat(); }
    for (int rep = 0; rep < 60; rep++) {
      long t0 = System.nanoTime();
      for (int b = 0; b < n; b += plane) NormActFloat.apply(x, y, b, b + plane, 1.1f, 0.1f, Activation.SILU);
      long t1 = System.nanoTime();
      for (int b = 0; b < n; b += plane) VectorNormAct.apply(x, y, b, b + plane, 1.1f, 0.1f, Activation.SILU);
      long t2 = System.nanoTime();
      for (int b = 0; b < n; b += plane) NormActFloat.activationGradient(x, dy, dx, b, b + plane, 1.1f, 0.1f, Activation.SILU);
      long t3 = System.nanoTime();
      for (int b = 0; b < n; b += plane) VectorNormAct.activationGradient(x, dy, dx, b, b + plane, 1.1f, 0.1f, Activation.SILU);
      long t4 = System.nanoTime();
      if (rep % 20 == 19) System.out.printf("plane %d: apply plain %.2f vector %.2f ms; gradient plain %.2f vector %.2f ms%n",
          plane, (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6);
    }
  }
}
