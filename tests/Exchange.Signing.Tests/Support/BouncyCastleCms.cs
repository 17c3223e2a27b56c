using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Cms;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509.Store;
using BcAttribute = Org.BouncyCastle.Asn1.Cms.Attribute;
using BcX509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace Exchange.Signing.Tests.Support;

/// <summary>
/// Signatures made entirely by BouncyCastle's CmsSignedDataGenerator, structure and RSA key operation both: how
/// <see cref="CmsSigner"/> built its SignedData until it wrote the DER itself. RSA PKCS#1 v1.5 is deterministic, so
/// for the same key, content and signing time the two must agree byte for byte.
/// </summary>
internal static class BouncyCastleCms
{
    public static byte[] Sign(X509Certificate2 signer, IEnumerable<X509Certificate2> carriedCas, byte[] content, DateTimeOffset signingTime, bool encapsulate)
    {
        using var rsa = signer.GetRSAPrivateKey() ?? throw new ArgumentException("RSA signers only.", nameof(signer));
        var key = DotNetUtilities.GetRsaKeyPair(rsa.ExportParameters(includePrivateParameters: true)).Private;

        var parser = new Org.BouncyCastle.X509.X509CertificateParser();
        var certificate = parser.ReadCertificate(signer.RawData);
        var carried = new List<BcX509Certificate> { certificate };
        carried.AddRange(carriedCas.Select(c => parser.ReadCertificate(c.RawData)));

        var attributes = new AttributeTable(new Asn1EncodableVector(
            new BcAttribute(CmsAttributes.SigningTime, new DerSet(new Time(signingTime.UtcDateTime)))));
        var signerInfo = new SignerInfoGeneratorBuilder()
            .WithSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(attributes))
            .Build(new Asn1SignatureFactory("SHA256WITHRSA", key), certificate);

        var generator = new CmsSignedDataGenerator();
        generator.AddSignerInfoGenerator(signerInfo);
        generator.AddCertificates(X509StoreFactory.Create("Certificate/Collection", new X509CollectionStoreParameters(carried)));
        return generator.Generate(new CmsProcessableByteArray(content), encapsulate).GetEncoded(Asn1Encodable.Der);
    }
}
