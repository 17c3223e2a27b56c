using Exchange.Contracts;
using Exchange.Persistence.Hub;

namespace Exchange.Router;

internal static class Forwarding
{
    /// <summary>The delivery of a stored envelope to one recipient: the exact bytes received, and this hub's trace entry beside them.</summary>
    public static DeliverEnvelope Deliver(EnvelopeRow envelope, string recipientCode, string hubName) =>
        new(envelope.EnvelopeId, envelope.SenderCode, recipientCode, envelope.Package, envelope.Signature,
            envelope.DirectoryVersion ?? 0, [new TraceEntry(hubName, envelope.ReceivedAt, "accepted")]);
}
