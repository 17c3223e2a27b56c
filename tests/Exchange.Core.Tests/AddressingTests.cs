using Exchange.Core;

namespace Exchange.Core.Tests;

public sealed class AddressingTests
{
    private const string Sender = "000.00.01.H29";

    [Test]
    public void Accepts_distinct_recipients_other_than_the_sender()
    {
        var ok = Addressing.TryCheck(Sender, ["000.01.21.H29", "000.02.21.H29"], out var reason, out var detail);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.True, detail);
            Assert.That(reason, Is.EqualTo(ReasonCode.Ok));
        });
    }

    [TestCase("000.01.21.H29", "000.01.21.H29")]
    [TestCase("000.01.21.H29", " 000.01.21.h29 ")]
    [TestCase("01.21.H29", "01.21.h29")]
    public void Refuses_a_recipient_named_twice_in_the_same_form(string first, string second)
    {
        var ok = Addressing.TryCheck(Sender, [first, second], out var reason, out var detail);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.False);
            Assert.That(reason, Is.EqualTo(ReasonCode.DuplicateRecipient));
            Assert.That(detail, Does.Contain("000.01.21.H29"));
        });
    }

    [TestCase("01.21.H29", "000.01.21.H29")]
    [TestCase("000.01.21.H29", "01.21.H29")]
    public void Accepts_one_recipient_under_its_three_group_and_four_group_codes(string first, string second)
    {
        // Real senders' address books hold both forms; the hub and the gateway deliver to the agency once.
        var ok = Addressing.TryCheck(Sender, [first, "000.02.21.H29", second], out var reason, out var detail);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.True, detail);
            Assert.That(reason, Is.EqualTo(ReasonCode.Ok));
        });
    }

    [Test]
    public void Refuses_a_recipient_named_twice_in_its_three_group_form_beside_its_four_group_code()
    {
        var ok = Addressing.TryCheck(Sender, ["01.21.H29", "000.01.21.H29", "01.21.H29"], out var reason, out _);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.False);
            Assert.That(reason, Is.EqualTo(ReasonCode.DuplicateRecipient));
        });
    }

    [TestCase("000.00.01.H29")]
    [TestCase("00.01.H29")]
    public void Refuses_the_sender_as_its_own_recipient(string recipient)
    {
        var ok = Addressing.TryCheck(Sender, ["000.01.21.H29", recipient], out var reason, out _);

        Assert.Multiple(() =>
        {
            Assert.That(ok, Is.False);
            Assert.That(reason, Is.EqualTo(ReasonCode.RecipientIsSender));
        });
    }

    [Test]
    public void Leaves_malformed_codes_to_the_caller()
    {
        // The caller refuses these as invalid-agency-code, with the parser's message.
        Assert.That(Addressing.TryCheck(Sender, ["vxp.saas.03", "vxp.saas.03", null], out _, out _), Is.True);
    }
}

public sealed class UntrustedTests
{
    [Test]
    public void Quotes_short_text_as_it_is()
    {
        Assert.That(Untrusted.Quote("000.00.01.H29"), Is.EqualTo("000.00.01.H29"));
    }

    [Test]
    public void Clips_long_text_and_says_how_long_it_was()
    {
        var quoted = Untrusted.Quote(new string('9', 1024 * 1024));

        Assert.Multiple(() =>
        {
            Assert.That(quoted, Has.Length.LessThan(Untrusted.MaxQuoted + 32));
            Assert.That(quoted, Does.EndWith("(1048576 characters)"));
        });
    }

    [Test]
    public void Replaces_control_characters_so_a_quote_cannot_forge_a_log_line()
    {
        Assert.That(Untrusted.Quote("000.00.01.H29\r\nfail: forged line\u001B[2J"), Is.EqualTo("000.00.01.H29??fail: forged line?[2J"));
    }

    // Regression: clipping by UTF-16 unit cut an emoji (a surrogate pair) in half; the lone high surrogate has no UTF-8
    // form, PostgreSQL refused the evidence row ("invalid byte sequence for encoding UTF8"), and the message was retried
    // as a fault and parked as a dead letter.
    [TestCase(80)]
    [TestCase(64)]
    [TestCase(1)]
    public void Clips_in_whole_code_points_never_splitting_a_surrogate_pair(int max)
    {
        // 1. Text whose limit falls inside a pair: max - 1 letters, then 😀 (U+1F600, two UTF-16 units).
        var text = new string('a', max - 1) + "\U0001F600" + "tail";
        Assert.That(char.IsHighSurrogate(text[max - 1]), Is.True, "the limit falls inside the pair");

        // 2. Clip it every way untrusted text is clipped.
        string[] clipped = [Untrusted.Quote(text, max), Untrusted.Clip(text, max), Untrusted.Truncate(text, max)];

        // 3. Each is valid UTF-16 (encodable to UTF-8, as PostgreSQL needs), keeps what fits, and drops the whole pair.
        var strict = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true);
        Assert.Multiple(() =>
        {
            foreach (var c in clipped)
            {
                Assert.That(() => strict.GetBytes(c), Throws.Nothing, c);
                Assert.That(c, Does.StartWith(new string('a', max - 1)));
                Assert.That(c, Does.Not.Contain("\U0001F600"));
            }

            Assert.That(Untrusted.Truncate(text, max), Is.EqualTo(new string('a', max - 1)));
            Assert.That(Untrusted.Truncate(text, max + 1), Is.EqualTo(new string('a', max - 1) + "\U0001F600"), "a pair that fits is kept");
        });
    }

    [Test]
    public void Replaces_a_lone_surrogate_that_came_in()
    {
        var text = "abc\uD83Ddef\uDE00";

        Assert.Multiple(() =>
        {
            Assert.That(Untrusted.Quote(text), Is.EqualTo("abc\uFFFDdef\uFFFD"));
            Assert.That(Untrusted.Clip(text, 100), Is.EqualTo("abc\uFFFDdef\uFFFD"));
            Assert.That(Untrusted.Truncate(text, 5), Is.EqualTo("abc\uFFFDd"));
            Assert.That(Untrusted.Quote("a\U0001F600b"), Is.EqualTo("a\U0001F600b"), "a whole pair is kept");
        });
    }

    [Test]
    public void Says_when_there_is_nothing_to_quote()
    {
        Assert.That(Untrusted.Quote(null), Is.EqualTo("(none)"));
    }
}
