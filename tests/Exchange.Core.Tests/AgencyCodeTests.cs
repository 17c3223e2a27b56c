using Exchange.Core;

namespace Exchange.Core.Tests;

public class AgencyCodeTests
{
    [Test]
    public void Accepts_four_group_form()
    {
        var code = AgencyCode.Parse("000.00.41.H29");

        Assert.Multiple(() =>
        {
            Assert.That(code.Value, Is.EqualTo("000.00.41.H29"));
            Assert.That(code.ToString(), Is.EqualTo("000.00.41.H29"));
            Assert.That(code.WasLegacyForm, Is.False);
            Assert.That(code.Level1, Is.EqualTo("H29"));
            Assert.That(code.Level2, Is.EqualTo("41"));
            Assert.That(code.Level3, Is.EqualTo("00"));
            Assert.That(code.Level4, Is.EqualTo("000"));
        });
    }

    [Test]
    public void Accepts_three_group_form_as_alias()
    {
        var code = AgencyCode.Parse("00.41.H29");

        Assert.Multiple(() =>
        {
            Assert.That(code.Value, Is.EqualTo("000.00.41.H29"));
            Assert.That(code.WasLegacyForm, Is.True);
            Assert.That(code.Level1, Is.EqualTo("H29"));
        });
    }

    [Test]
    public void Three_group_form_maps_its_groups_to_levels_three_two_and_one()
    {
        // 01.02.G22 is a trace entry in edoc.edxml and vdxp-2019-5-852e179c.edxml; 28.22.H17 is the To of
        // edoc_new.edxml, "UBND xã Hòa Sơn - UBND huyện Hòa Vang - Thành phố Đà Nẵng" (commune, district, city).
        var vpcpUnit = AgencyCode.Parse("01.02.G22");
        var commune = AgencyCode.Parse("28.22.H17");

        Assert.Multiple(() =>
        {
            Assert.That(vpcpUnit.Value, Is.EqualTo("000.01.02.G22"));
            Assert.That(commune.Value, Is.EqualTo("000.28.22.H17"));
            Assert.That(commune.Level2, Is.EqualTo("22"), "district");
            Assert.That(commune.Level3, Is.EqualTo("28"), "commune");
            Assert.That(commune.Level4, Is.EqualTo("000"), "the three-group form has no level 4");
        });
    }

    [Test]
    public void Three_group_form_equals_its_four_group_equivalent()
    {
        var legacy = AgencyCode.Parse("00.41.H29");
        var current = AgencyCode.Parse("000.00.41.H29");

        Assert.Multiple(() =>
        {
            Assert.That(legacy, Is.EqualTo(current));
            Assert.That(legacy == current, Is.True);
            Assert.That(legacy.GetHashCode(), Is.EqualTo(current.GetHashCode()));
            Assert.That(legacy.CompareTo(current), Is.Zero);
        });
    }

    [TestCase("  000.00.00.g22 ", "000.00.00.G22")]
    [TestCase("\t00.41.h29\r\n", "000.00.41.H29")]
    public void Normalises_whitespace_and_letter_case(string text, string expected)
    {
        Assert.That(AgencyCode.Parse(text).Value, Is.EqualTo(expected));
    }

    // Every well-formed agency id in the edXML samples (tests/Exchange.Edxml.Tests/samples: From, To, TraceHeader, ResponseFor, DocumentId).
    [TestCase("000.00.00.G22", "G22", false)] // edoc_*, status_* (Văn phòng Chính phủ)
    [TestCase("000.00.00.H41", "H41", false)] // edoc_update/revocation/replacement, status_* (UBND Tỉnh Nghệ An)
    [TestCase("000.00.00.H14", "H14", false)] // edoc_update/revocation/replacement (UBND Tỉnh Cao Bằng)
    [TestCase("000.00.00.G17", "G17", false)] // edoc_update/revocation/replacement
    [TestCase("000.00.15.H51", "H51", false)] // edoc.edxml, vdxp-2019-5-852e179c.edxml
    [TestCase("002.00.20.H13", "H13", false)] // edoc.edxml, edoc_new.edxml
    [TestCase("000.00.04.G14", "G14", false)] // edoc_revocation.edxml ResponseFor/DocumentId
    [TestCase("01.02.G22", "G22", true)]      // edoc.edxml, vdxp-2019-5-852e179c.edxml TraceHeader
    [TestCase("28.22.H17", "H17", true)]      // edoc_new.edxml To
    public void Accepts_every_well_formed_agency_id_in_the_samples(string text, string level1, bool legacy)
    {
        Assert.That(AgencyCode.TryParse(text, out var code, out var error), Is.True, error);
        Assert.Multiple(() =>
        {
            Assert.That(code.Level1, Is.EqualTo(level1));
            Assert.That(code.WasLegacyForm, Is.EqualTo(legacy));
            Assert.That(code.Value, Has.Length.EqualTo(13));
        });
    }

    // Every odd agency id in the samples: real senders produce them, the router refuses them (InvalidAgencyCode).
    [TestCase("vxp.saas.03", "level-1")]   // vdxp-2025-10-*.edxml From and To
    [TestCase("001.00.20.TT2", "level-1")] // vdxp-2019-5-852e179c.edxml TraceHeader
    [TestCase("001.00.20.JB2", "level-1")] // edoc.edxml, commented-out ResponseFor
    [TestCase("null", "literal")]          // vdxp-2025-10-*.edxml TraceHeader
    [TestCase("", "empty")]                // edoc.edxml, empty ResponseFor/OrganId
    public void Refuses_every_odd_agency_id_in_the_samples(string text, string reason)
    {
        Assert.That(AgencyCode.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain(reason));
    }

    [TestCase("null")]
    [TestCase("NULL")]
    [TestCase(" Null ")]
    public void Refuses_literal_null(string text)
    {
        Assert.That(AgencyCode.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("literal text null"));
    }

    [Test]
    public void Refuses_missing_code()
    {
        Assert.That(AgencyCode.TryParse(null, out var code, out var error), Is.False);
        Assert.Multiple(() =>
        {
            Assert.That(error, Is.EqualTo("Agency code is missing."));
            Assert.That(code, Is.EqualTo(default(AgencyCode)));
        });
    }

    [TestCase("")]
    [TestCase("   ")]
    public void Refuses_empty_code(string text)
    {
        Assert.That(AgencyCode.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("Agency code is empty."));
    }

    [Test]
    public void Refuses_too_long_code_without_echoing_it()
    {
        var text = "000.00.00.H29" + new string(' ', 100);

        Assert.That(AgencyCode.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("too long"));
    }

    [TestCase("٠٠٠.٠٠.٠٠.H29")] // Arabic-Indic digits
    [TestCase("０００.００.００.H29")] // full-width digits
    [TestCase("000.00.00.H２９")]
    public void Refuses_non_ascii_digits(string text)
    {
        Assert.That(AgencyCode.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("0-9").Or.Contain("two digits"));
    }

    [TestCase("00.00.00.H29")]       // level 4 needs three digits
    [TestCase("000.0.00.H29")]
    [TestCase("000.00.000.H29")]
    [TestCase("0.41.H29")]
    [TestCase("000.41.H29")]         // three-group form has 2-digit groups
    [TestCase("000.00.00.H2")]
    [TestCase("000.00.00.229")]
    [TestCase("000.00.00.HH9")]
    [TestCase("000.00.00.Đ29")]      // level-1 letter must be ASCII
    [TestCase("H29")]
    [TestCase("00.H29")]
    [TestCase("000.00.00.00.H29")]
    [TestCase("000.00.00.H29.")]
    [TestCase("000..00.H29")]
    [TestCase("000 00 00 H29")]
    [TestCase("000.00.00.H29x")]
    [TestCase("+00.00.00.H29")]
    public void Refuses_malformed_groups(string text)
    {
        Assert.That(AgencyCode.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.StartWith("Agency code '"));
    }

    [Test]
    public void Parse_throws_format_exception_with_the_reason()
    {
        var e = Assert.Throws<FormatException>(() => AgencyCode.Parse("vxp.saas.03"));
        Assert.That(e!.Message, Does.Contain("vxp.saas.03").And.Contain("level-1 group '03'"));
    }

    [Test]
    public void Orders_by_normalised_value()
    {
        var codes = new[] { "000.00.41.H29", "000.00.00.G22", "00.40.H29" }.Select(AgencyCode.Parse).Order().ToList();

        Assert.That(codes.Select(c => c.Value), Is.EqualTo(new[] { "000.00.00.G22", "000.00.40.H29", "000.00.41.H29" }));
    }

    [Test]
    public void Default_value_is_empty_not_null()
    {
        var code = default(AgencyCode);

        Assert.Multiple(() =>
        {
            Assert.That(code.Value, Is.Empty);
            Assert.That(code.Level1, Is.Empty);
            Assert.That(code.ToString(), Is.Empty);
        });
    }
}
