using Exchange.ServiceDefaults.Access;
using Microsoft.AspNetCore.Http;

namespace Exchange.ServiceDefaults.Tests;

/// <summary>The API keys every HTTP host shares: how they are made, hashed, presented and compared.</summary>
public sealed class ApiKeyTests
{
    [Test]
    public void Hash_is_the_sha256_of_the_keys_utf8_bytes()
    {
        // Expected value from: printf '%s' 'exg_000.00.01.H29_test-vector' | sha256sum
        Assert.That(ApiKey.HashHex("exg_000.00.01.H29_test-vector"), Is.EqualTo("5a02de5d3b407a1ba7d874db6409acdb1a882178ee545409608377a3da32d0dc"));
        Assert.That(ApiKey.Hash("exg_000.00.01.H29_test-vector"), Is.EqualTo(Convert.FromHexString("5a02de5d3b407a1ba7d874db6409acdb1a882178ee545409608377a3da32d0dc")));
    }

    [Test]
    public void A_scoped_key_carries_its_scope_and_32_random_bytes()
    {
        var keys = Enumerable.Range(0, 50).Select(_ => ApiKey.Generate("exg_", "000.00.01.H29")).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(keys, Is.Unique);
            Assert.That(keys, Has.All.StartWith("exg_000.00.01.H29_"));
            Assert.That(keys.Select(k => k.Length), Has.All.EqualTo("exg_000.00.01.H29_".Length + ApiKey.SecretLength));
            foreach (var key in keys)
            {
                Assert.That(ApiKey.TryReadScope(key, "exg_", out var scope), Is.True, key);
                Assert.That(scope, Is.EqualTo("000.00.01.H29"));
            }
        });
    }

    [TestCase("exg_000.00.01.H29_short")]
    [TestCase("exg__0123456789012345678901234567890123456789012")]
    [TestCase("exk_000.00.01.H29_0123456789012345678901234567890123456789012")]
    [TestCase("exg_000.00.01.H29_012345678901234567890123456789012345678901!")]
    [TestCase("exg_000.00.01.H290123456789012345678901234567890123456789012")]
    [TestCase("")]
    [TestCase(null)]
    public void Reads_no_scope_from_what_is_not_a_scoped_key(string? text)
    {
        Assert.That(ApiKey.TryReadScope(text, "exg_", out _), Is.False);
    }

    [Test]
    public void A_scope_with_the_separator_in_it_is_refused_when_making_a_key()
    {
        Assert.Throws<ArgumentException>(() => ApiKey.Generate("exg_", "a_b"));
        Assert.Throws<ArgumentException>(() => ApiKey.Generate("exg_", string.Empty));
    }

    [Test]
    public void Finds_the_entry_with_the_matching_hash_and_no_other()
    {
        var first = ApiKey.Generate("exk_");
        var second = ApiKey.Generate("exk_");
        var entries = new[] { ("first", ApiKey.Hash(first)), ("second", ApiKey.Hash(second)) };

        Assert.Multiple(() =>
        {
            Assert.That(ApiKey.Find(first, entries), Is.EqualTo("first"));
            Assert.That(ApiKey.Find(second, entries), Is.EqualTo("second"));
            Assert.That(ApiKey.Find(ApiKey.Generate("exk_"), entries), Is.Null);
            Assert.That(ApiKey.Find(ApiKey.HashHex(first), entries), Is.Null, "the stored hash is not itself a key");
            Assert.That(ApiKey.Find(new string('x', ApiKey.MaxLength + 1), entries), Is.Null);
            Assert.That(ApiKey.Find(null, entries), Is.Null);
        });
    }

    private static HttpRequest Request(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        foreach (var group in headers.GroupBy(h => h.Name))
        {
            context.Request.Headers[group.Key] = group.Select(h => h.Value).ToArray();
        }

        return context.Request;
    }

    [Test]
    public void Reads_the_key_from_the_x_api_key_header_or_a_bearer_token()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ApiKey.Read(Request(("X-Api-Key", "exg_a")), out var c1), Is.EqualTo("exg_a"));
            Assert.That(c1, Is.False);
            Assert.That(ApiKey.Read(Request(("Authorization", "Bearer exg_b")), out _), Is.EqualTo("exg_b"));
            Assert.That(ApiKey.Read(Request(("Authorization", "bearer   exg_c ")), out _), Is.EqualTo("exg_c"), "the scheme is case-insensitive (RFC 9110 §11.1)");
            Assert.That(ApiKey.Read(Request(("X-Api-Key", "exg_d"), ("Authorization", "Bearer exg_d")), out var c4), Is.EqualTo("exg_d"), "the same key twice is one key");
            Assert.That(c4, Is.False);
        });
    }

    [Test]
    public void Reads_no_key_from_other_schemes_the_query_string_or_a_bearer_token_when_not_allowed()
    {
        var query = new DefaultHttpContext();
        query.Request.QueryString = new QueryString("?api_key=exg_a&X-Api-Key=exg_a");

        Assert.Multiple(() =>
        {
            Assert.That(ApiKey.Read(Request(("Authorization", "Basic ZXhjaGFuZ2U6ZXhjaGFuZ2U=")), out _), Is.Null);
            Assert.That(ApiKey.Read(Request(("Authorization", "Bearer ")), out _), Is.Null);
            Assert.That(ApiKey.Read(query.Request, out _), Is.Null);
            Assert.That(ApiKey.Read(Request(("Authorization", "Bearer exg_b")), out _, allowBearer: false), Is.Null);
            Assert.That(ApiKey.Read(Request(("X-Api-Key", "  ")), out _), Is.Null);
        });
    }

    [Test]
    public void Two_different_keys_in_one_request_are_neither_used()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ApiKey.Read(Request(("X-Api-Key", "exg_a"), ("Authorization", "Bearer exg_b")), out var both), Is.Null);
            Assert.That(both, Is.True);
            Assert.That(ApiKey.Read(Request(("X-Api-Key", "exg_a"), ("X-Api-Key", "exg_b")), out var twice), Is.Null);
            Assert.That(twice, Is.True);
        });
    }
}
