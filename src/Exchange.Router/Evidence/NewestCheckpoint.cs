using Exchange.Contracts;
using Exchange.Core;

namespace Exchange.Router.Evidence;

/// <summary>
/// The newest committed signed checkpoint of the evidence chain, which the hub attaches to every
/// <see cref="EnvelopeAccepted"/> so that each sending gateway keeps a copy outside the hub (issue #16 item 12):
/// deleting the newest records with their checkpoints then contradicts what the gateways hold. The
/// <see cref="EvidenceSealer"/> refreshes it from the database (committed rows only: a checkpoint whose transaction
/// rolled back must never be shown, or it would later look like a truncation).
/// </summary>
public sealed class NewestCheckpoint
{
    private volatile HubCheckpoint? _current;
    private long _index;

    public HubCheckpoint? Current => _current;

    public void Offer(SignedCheckpoint? checkpoint)
    {
        if (checkpoint is null || checkpoint.Checkpoint.ChainIndex <= Interlocked.Read(ref _index))
        {
            return;
        }

        _current = new HubCheckpoint(EvidenceChain.Canonical(checkpoint.Checkpoint), checkpoint.Signature, checkpoint.Certificate);
        Interlocked.Exchange(ref _index, checkpoint.Checkpoint.ChainIndex);
    }
}
