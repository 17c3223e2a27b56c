using System.Collections;
using System.Reflection;

namespace Exchange.Edxml.Tests;

/// <summary>
/// Compares model records member by member, lists by their items and byte arrays by their bytes (record equality
/// compares lists and arrays by reference). Returns the path of the first difference, or null.
/// </summary>
internal static class Structural
{
    public static string? Difference(object? expected, object? actual, string path = "")
    {
        if (expected is null || actual is null)
        {
            return expected is null && actual is null ? null : $"{path}: expected {Show(expected)}, was {Show(actual)}";
        }

        if (expected is string || expected.GetType().IsValueType)
        {
            return expected.Equals(actual) ? null : $"{path}: expected {Show(expected)}, was {Show(actual)}";
        }

        if (expected is byte[] expectedBytes && actual is byte[] actualBytes)
        {
            return expectedBytes.AsSpan().SequenceEqual(actualBytes)
                ? null
                : $"{path}: bytes differ ({expectedBytes.Length} expected, {actualBytes.Length} read)";
        }

        if (expected is IEnumerable expectedItems && actual is IEnumerable actualItems)
        {
            var left = expectedItems.Cast<object?>().ToList();
            var right = actualItems.Cast<object?>().ToList();
            if (left.Count != right.Count)
            {
                return $"{path}: expected {left.Count} items, was {right.Count}";
            }

            for (var i = 0; i < left.Count; i++)
            {
                if (Difference(left[i], right[i], $"{path}[{i}]") is { } difference)
                {
                    return difference;
                }
            }

            return null;
        }

        if (expected.GetType() != actual.GetType())
        {
            return $"{path}: expected a {expected.GetType().Name}, was a {actual.GetType().Name}";
        }

        foreach (var property in expected.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (Difference(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}") is { } difference)
            {
                return difference;
            }
        }

        return null;
    }

    private static string Show(object? value) => value is null ? "null" : $"'{value}'";
}
