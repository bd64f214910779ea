//! JSON on the Java side: one Jackson mapper, and the check of caller values before they cross to the engine.
package dev.switchyard.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Caller values (maps, lists, strings, numbers, booleans, null, JSON nodes, the SDK's
 * params) become a JSON tree here. Anything else — a non-finite number, a map key that is
 * not a string, an arbitrary object, a cycle, nesting deeper than {@link #MAX_DEPTH} — is a
 * {@code BadRequestException} naming where it sits, before native code sees it.
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Deeper than any real request or config. */
    public static final int MAX_DEPTH = 128;

    private Json() {}

    /** Something that knows its own JSON form (the SDK's params). */
    public interface Wire {
        JsonNode toJson(String field);
    }

    public static JsonNode parse(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the engine sent invalid JSON: " + e.getOriginalMessage(), e);
        }
    }

    public static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw Errors.badRequest(null, "cannot write JSON: " + e.getOriginalMessage());
        }
    }

    /** {@code value} as JSON; errors name fields under {@code field}. */
    public static JsonNode tree(Object value, String field) {
        return tree(value, field, 0, new IdentityHashMap<>());
    }

    private static JsonNode tree(Object value, String field, int depth, IdentityHashMap<Object, Boolean> seen) {
        if (value == null) {
            return NODES.nullNode();
        }
        if (value instanceof JsonNode node) {
            return node;
        }
        if (value instanceof String s) {
            return NODES.textNode(s);
        }
        if (value instanceof Boolean b) {
            return NODES.booleanNode(b);
        }
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            return NODES.numberNode(((Number) value).longValue());
        }
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (!Double.isFinite(d)) {
                throw Errors.badRequest(field, d + " is not a JSON number");
            }
            return NODES.numberNode(d);
        }
        if (value instanceof BigInteger b) {
            return NODES.numberNode(b);
        }
        if (value instanceof BigDecimal b) {
            return NODES.numberNode(b);
        }
        if (value instanceof Enum<?> e) {
            return NODES.textNode(e.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (value instanceof Duration d) {
            return NODES.numberNode(d.toNanos() / 1e9);
        }
        if (value instanceof Optional<?> o) {
            return tree(o.orElse(null), field, depth, seen);
        }
        if (value instanceof Wire w) {
            return w.toJson(field);
        }
        if (depth >= MAX_DEPTH) {
            throw Errors.badRequest(field, "nested deeper than " + MAX_DEPTH + " levels");
        }
        if (seen.put(value, Boolean.TRUE) != null) {
            throw Errors.badRequest(field, "the value contains itself (a cycle)");
        }
        try {
            if (value instanceof Map<?, ?> map) {
                ObjectNode out = NODES.objectNode();
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!(e.getKey() instanceof String key)) {
                        throw Errors.badRequest(field, "a map key must be a string, got "
                                + (e.getKey() == null ? "null" : e.getKey().getClass().getSimpleName()));
                    }
                    out.set(key, tree(e.getValue(), child(field, key), depth + 1, seen));
                }
                return out;
            }
            if (value instanceof Collection<?> list) {
                ArrayNode out = NODES.arrayNode();
                int i = 0;
                for (Object item : list) {
                    out.add(tree(item, field + "[" + i + "]", depth + 1, seen));
                    i++;
                }
                return out;
            }
            if (value instanceof Object[] array) {
                ArrayNode out = NODES.arrayNode();
                for (int i = 0; i < array.length; i++) {
                    out.add(tree(array[i], field + "[" + i + "]", depth + 1, seen));
                }
                return out;
            }
            if (value instanceof double[] array) {
                ArrayNode out = NODES.arrayNode();
                for (int i = 0; i < array.length; i++) {
                    out.add(tree(array[i], field + "[" + i + "]", depth + 1, seen));
                }
                return out;
            }
            throw Errors.badRequest(field, "a " + value.getClass().getName()
                    + " cannot be sent: pass a string, number, boolean, list, map or null");
        } finally {
            seen.remove(value);
        }
    }

    static String child(String field, String key) {
        return field == null || field.isEmpty() ? key : field + "." + key;
    }

    /** JSON text for a value, or {@code null} (none) for null. */
    public static String text(Object value, String field) {
        return value == null ? null : write(tree(value, field));
    }
}
