using Exchange.Core;

namespace Exchange.Edxml;

/// <summary>
/// A package that cannot be read or written, with the reason code the sender gets back
/// (<see cref="ReasonCode.PackageInvalid"/> or <see cref="ReasonCode.TooLarge"/>) and a message that names
/// the element and what is wrong with it. Readers throw nothing else for bad input.
/// </summary>
public sealed class EdxmlException : Exception
{
    public EdxmlException(ReasonCode reason, string message)
        : base(message)
    {
        Reason = reason;
    }

    public EdxmlException(ReasonCode reason, string message, Exception? innerException)
        : base(message, innerException)
    {
        Reason = reason;
    }

    public ReasonCode Reason { get; }
}
