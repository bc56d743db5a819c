package org.charsight.common;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.spark.serializer.KryoRegistrator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Lets Spark's Kryo serializer carry ND4J arrays, copying their bytes in bulk.
 *
 * <p>Parameter averaging ships the parameters and both Adam moments to every worker and back every
 * round (three times the model), and the minibatches cross shuffles as arrays too. ND4J's own
 * serialization, which Java serialization and ND4J's Kryo module both end in, writes an array one
 * element at a time; on the pretraining benchmark that decoding and encoding was most of the time
 * workers and driver spent outside training. Off-heap data is why plain Kryo cannot be used: its
 * field serializer would copy the pointer, not the numbers.
 *
 * <p>Records (the stages' own row types) and the JDK's unmodifiable collections fall back to Java
 * serialization inside Kryo, which cannot construct them field by field.
 *
 * <p>Set by default (conf {@code spark.conf}): {@code spark.serializer =
 * org.apache.spark.serializer.KryoSerializer} and {@code spark.kryo.registrator} = this class.
 */
public final class Nd4jKryoRegistrator implements KryoRegistrator {
  @Override
  public void registerClasses(Kryo kryo) {
    kryo.addDefaultSerializer(INDArray.class, new ArraySerializer());
    // Kryo 4 (Spark's) cannot take a record apart field by field; the stages' records are
    // Serializable, so they go as Java serialization did before.
    kryo.addDefaultSerializer(Record.class, new JavaSerializer());
    // Nor can it rebuild the JDK's unmodifiable collections (List.of, Stream.toList, Arrays.asList,
    // Collections.unmodifiable*): it creates them empty and adds, which they refuse.
    for (String name : JDK_UNMODIFIABLE) {
      try {
        kryo.addDefaultSerializer(Class.forName(name), new JavaSerializer());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("Nd4jKryoRegistrator: this JDK has no " + name, e);
      }
    }
  }

  private static final String[] JDK_UNMODIFIABLE = {
      "java.util.ImmutableCollections$AbstractImmutableCollection",
      "java.util.ImmutableCollections$AbstractImmutableMap",
      "java.util.Arrays$ArrayList",
      "java.util.Collections$UnmodifiableCollection",
      "java.util.Collections$UnmodifiableMap",
      "java.util.Collections$SingletonList",
      "java.util.Collections$SingletonSet",
      "java.util.Collections$SingletonMap",
      "java.util.Collections$EmptyList",
      "java.util.Collections$EmptySet",
      "java.util.Collections$EmptyMap"};

  /** Type, shape, then the raw little-endian bytes of a C-ordered copy. */
  static final class ArraySerializer extends Serializer<INDArray> {
    private static final int CHUNK = 1 << 16;

    ArraySerializer() {
      requireLittleEndian();
    }

    @Override
    public void write(Kryo kryo, Output out, INDArray array) {
      INDArray a = array.isView() || array.ordering() != 'c' || array.data().offset() != 0 ? array.dup('c') : array;
      DataType type = a.dataType();
      if (type == DataType.UTF8 || type == DataType.COMPRESSED || type == DataType.UNKNOWN) {
        throw new IllegalArgumentException("cannot serialize an ND4J array of type " + type);
      }
      out.writeString(type.name());
      long[] shape = a.shape();
      out.writeInt(shape.length, true);
      for (long s : shape) out.writeLong(s, true);
      out.writeBoolean(a.isEmpty());
      if (a.isEmpty()) return;
      ByteBuffer bytes = rawBytes(a);
      byte[] chunk = new byte[Math.min(CHUNK, bytes.remaining())];
      while (bytes.hasRemaining()) {
        int n = Math.min(chunk.length, bytes.remaining());
        bytes.get(chunk, 0, n);
        out.writeBytes(chunk, 0, n);
      }
    }

    @Override
    public INDArray read(Kryo kryo, Input in, Class<INDArray> type) {
      DataType dataType = DataType.valueOf(in.readString());
      long[] shape = new long[in.readInt(true)];
      for (int i = 0; i < shape.length; i++) shape[i] = in.readLong(true);
      if (in.readBoolean()) return Nd4j.create(dataType, shape);
      INDArray a = Nd4j.createUninitializedDetached(dataType, shape);
      ByteBuffer bytes = rawBytes(a);
      byte[] chunk = new byte[Math.min(CHUNK, bytes.remaining())];
      while (bytes.hasRemaining()) {
        int n = Math.min(chunk.length, bytes.remaining());
        in.readBytes(chunk, 0, n);
        bytes.put(chunk, 0, n);
      }
      return a;
    }

    /** The array's elements as bytes, over its own off-heap memory (a C-ordered array, offset 0). */
    private static ByteBuffer rawBytes(INDArray a) {
      ByteBuffer bytes = a.data().asNio().duplicate();
      bytes.position(0).limit(Math.toIntExact(a.length() * a.dataType().width()));
      return bytes;
    }

    /** The bytes go as the machine holds them; every platform nd4j-native is built for is little-endian. */
    private static void requireLittleEndian() {
      if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
        throw new IllegalStateException("Nd4jKryoRegistrator: this JVM is big-endian; remove spark.kryo.registrator="
            + Nd4jKryoRegistrator.class.getName() + " and spark.serializer from spark.conf");
      }
    }
  }
}
