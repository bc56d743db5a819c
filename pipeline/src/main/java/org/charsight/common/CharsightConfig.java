package org.charsight.common;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The one way charsight reads configuration: packaged defaults, then an optional experiment file,
 * then {@code key=value} overrides from the command line, later ones winning.
 *
 * <p>A key that the defaults do not know is an error (a typo must never be silently ignored),
 * except under {@code spark.conf}, which is passed to Spark as is. Typed getters report the key
 * and what was expected, so a bad value reads {@code prepare.context: expected an integer >= 2, got 1}.
 */
public final class CharsightConfig {
  public static final String DEFAULTS_RESOURCE = "charsight/defaults.conf";
  private static final List<String> FREE_FORM = List.of("spark.conf");

  private final Config config;

  private CharsightConfig(Config config) {
    this.config = config;
  }

  public static CharsightConfig defaults() {
    return load(null, List.of());
  }

  public static CharsightConfig load(Path confFile, List<String> overrides) {
    Config defaults = ConfigFactory.parseResources(
        CharsightConfig.class.getClassLoader(), DEFAULTS_RESOURCE,
        ConfigParseOptions.defaults().setAllowMissing(false));
    Config merged = defaults;
    if (confFile != null) {
      if (!Files.isRegularFile(confFile)) {
        throw new UserError("--conf: file not found: " + confFile);
      }
      Config user;
      try {
        user = ConfigFactory.parseFile(confFile.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
      } catch (ConfigException e) {
        throw new UserError("--conf: cannot parse " + confFile + ": " + e.getMessage());
      }
      checkKnown(defaults, user, confFile.toString());
      merged = user.withFallback(merged);
    }
    Config cli = parseOverrides(overrides);
    checkKnown(defaults, cli, "the command line");
    merged = cli.withFallback(merged);
    try {
      return new CharsightConfig(merged.resolve());
    } catch (ConfigException e) {
      throw new UserError("configuration: " + e.getMessage());
    }
  }

  /** Returns a copy with the given keys set (used for options that also exist as CLI flags). */
  public CharsightConfig with(String key, Object value) {
    return new CharsightConfig(config.withValue(key, ConfigValueFactory.fromAnyRef(value)));
  }

  /** How a list or an object starts in HOCON. */
  private static final String HOCON_STRUCTURES = "[{";

  private static Config parseOverrides(List<String> overrides) {
    Config c = ConfigFactory.empty();
    for (String o : overrides) {
      int eq = o.indexOf('=');
      if (eq <= 0) {
        throw new UserError("expected a conf override key=value, got '" + o + "'");
      }
      String key = o.substring(0, eq).trim();
      String value = o.substring(eq + 1).trim();
      try {
        // Lists and objects are HOCON; scalars stay strings (getInt etc. convert), so that
        // values like s3a://bucket/x are not mangled by HOCON's // comment syntax.
        if (!value.isEmpty() && HOCON_STRUCTURES.indexOf(value.charAt(0)) >= 0) {
          c = ConfigFactory.parseString(key + " = " + value).withFallback(c);
        } else {
          c = c.withValue(key, ConfigValueFactory.fromAnyRef(value));
        }
      } catch (ConfigException e) {
        throw new UserError("bad conf override '" + o + "': " + e.getMessage());
      }
    }
    return c;
  }

  private static void checkKnown(Config defaults, Config user, String source) {
    for (Map.Entry<String, ConfigValue> e : user.entrySet()) {
      String key = e.getKey();
      if (FREE_FORM.stream().anyMatch(f -> key.startsWith(f + "."))) continue;
      if (!defaults.hasPathOrNull(key)) {
        String section = key.contains(".") ? key.substring(0, key.indexOf('.')) : "";
        TreeSet<String> known = new TreeSet<>();
        for (Map.Entry<String, ConfigValue> d : defaults.entrySet()) {
          if (section.isEmpty() || d.getKey().startsWith(section + ".")) known.add(d.getKey());
        }
        throw new UserError("unknown conf key '" + key + "' in " + source
            + (section.isEmpty() ? "" : "; known keys under " + section + ": " + String.join(", ", known)));
      }
    }
  }

  public String string(String key) {
    try {
      return config.getString(key);
    } catch (ConfigException e) {
      throw new UserError(key + ": expected a string (" + e.getMessage() + ")");
    }
  }

  public String oneOf(String key, String... allowed) {
    String v = string(key);
    if (!Arrays.asList(allowed).contains(v)) {
      throw new UserError(key + ": expected one of " + String.join(", ", allowed) + ", got '" + v + "'");
    }
    return v;
  }

  public long longAtLeast(String key, long min) {
    long v;
    try {
      v = config.getLong(key);
    } catch (ConfigException e) {
      throw new UserError(key + ": expected an integer >= " + min + ", got " + describe(key));
    }
    if (v < min) throw new UserError(key + ": expected an integer >= " + min + ", got " + v);
    return v;
  }

  public int intAtLeast(String key, int min) {
    long v = longAtLeast(key, min);
    if (v > Integer.MAX_VALUE) throw new UserError(key + ": expected an integer <= " + Integer.MAX_VALUE + ", got " + v);
    return (int) v;
  }

  /** A number strictly between 0 and 1. */
  public double openFraction(String key) {
    double v = number(key);
    if (!(v > 0 && v < 1)) throw new UserError(key + ": expected a number in (0, 1), got " + v);
    return v;
  }

  public double number(String key) {
    try {
      return config.getDouble(key);
    } catch (ConfigException e) {
      throw new UserError(key + ": expected a number, got " + describe(key));
    }
  }

  public boolean bool(String key) {
    try {
      return config.getBoolean(key);
    } catch (ConfigException e) {
      throw new UserError(key + ": expected true or false, got " + describe(key));
    }
  }

  public List<String> strings(String key) {
    try {
      return config.getStringList(key);
    } catch (ConfigException e) {
      throw new UserError(key + ": expected a list of strings, got " + describe(key));
    }
  }

  /** A list of objects (e.g. fine-tuning phases), each as plain values. */
  public List<Map<String, Object>> objects(String key) {
    try {
      List<Map<String, Object>> out = new ArrayList<>();
      for (ConfigObject o : config.getObjectList(key)) out.add(o.unwrapped());
      return out;
    } catch (ConfigException e) {
      throw new UserError(key + ": expected a list of objects ({ key = value, ... }), got " + describe(key));
    }
  }

  /** A section flattened to dotted keys and plain values, for manifests and Spark conf. */
  public Map<String, Object> section(String path) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (!config.hasPath(path)) return out;
    List<String> keys = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : config.getConfig(path).entrySet()) keys.add(e.getKey());
    keys.sort(null);
    // A key written quoted ("spark.executor.memory" = 4g) comes back as a quoted path; Spark wants
    // the plain dotted name either way.
    for (String k : keys) out.put(String.join(".", ConfigUtil.splitPath(k)), config.getConfig(path).getValue(k).unwrapped());
    return out;
  }

  private String describe(String key) {
    if (!config.hasPathOrNull(key)) return "nothing (missing)";
    if (config.getIsNull(key)) return "null";
    return config.getValue(key).render(ConfigRenderOptions.concise());
  }

  public Config raw() {
    return config;
  }
}
