package org.transcnn.kernels;
/**
 * One attention kernel alone on SMALL's stage-1 shapes at 256x256, batch 8 (64 channels, one head, 64x64 maps):
 * window attention (G = 8) or the pooled global step (keys and values 8x8), forward or backward, N calls, the time
 * of every 20th printed. Usage (after mvn compile): javac --add-modules jdk.incubator.vector -cp target/classes -d
 * /tmp/ab benchmarks/kernels/org/transcnn/kernels/AttentionBench.java; java --add-modules jdk.incubator.vector -cp
 * target/classes:/tmp/ab org.transcnn.kernels.AttentionBench N wf|wb|gf|gb (NCHW queries and keys/values), or
 * twf|twb|tgf|tgb (token-major, as H-MHSA holds them)
 */
public class AttentionBench {
  public static void main(String[] a) {
    int b=8,c=64,h=64,w=64;
    float[] qkv=new float[b*3*c*h*w]; float[] out=new float[b*c*h*w]; float[] dqkv=new float[qkv.length];
    float[] q=new float[b*c*h*w]; float[] kv=new float[b*2*c*64]; float[] dq=new float[q.length]; float[] dkv=new float[kv.length];
    java.util.Random r=new java.util.Random(1); for(int i=0;i<qkv.length;i++) qkv[i]=r.nextFloat();
    for(int i=0;i<q.length;i++) q[i]=r.nextFloat(); for(int i=0;i<kv.length;i++) kv[i]=r.nextFloat();
    AttentionLayout window = new AttentionLayout(b, 1, 64, 3 * c, 0, h, w, 3 * c, c, 2 * c, h, w, 8);
    AttentionLayout global = new AttentionLayout(b, 1, 64, c, 0, h, w, 2 * c, 0, c, 8, 8, 0);
    String mode=a[1];
    if (mode.startsWith("t")) { window = window.tokens(); global = global.tokens(); mode = mode.substring(1); }
    for(int rep=0;rep<Integer.parseInt(a[0]);rep++){
      long t=System.nanoTime();
      if (mode.equals("wf")) AttentionFloat.forward(qkv, qkv, window, out);
      else if (mode.equals("wb")) AttentionFloat.backward(qkv, qkv, out, window, dqkv, dqkv);
      else if (mode.equals("gf")) AttentionFloat.forward(q, kv, global, out);
      else AttentionFloat.backward(q, kv, out, global, dq, dkv);
      if (rep%20==19) System.out.printf("%s %.2f ms%n", mode, (System.nanoTime()-t)/1e6);
    }
  }
}
