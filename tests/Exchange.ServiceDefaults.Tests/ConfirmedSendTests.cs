using Exchange.ServiceDefaults.Messaging;

namespace Exchange.ServiceDefaults.Tests;

/// <summary>A send whose publisher confirm never comes fails after a limit instead of waiting for ever (rabbitmq-dotnet-client #1930).</summary>
public sealed class ConfirmedSendTests
{
    [Test]
    public void A_send_never_confirmed_fails_with_a_timeout()
    {
        var never = (CancellationToken token) => Task.Delay(Timeout.Infinite, token);

        var e = Assert.ThrowsAsync<TimeoutException>(() => QueueSends.WithinAsync(never, TimeSpan.FromMilliseconds(50), CancellationToken.None));

        Assert.That(e!.Message, Does.Contain("did not confirm"));
    }

    [Test]
    public void Stopping_the_host_is_a_cancellation_not_a_timeout()
    {
        using var stopping = new CancellationTokenSource();
        var never = (CancellationToken token) => Task.Delay(Timeout.Infinite, token);

        var sending = QueueSends.WithinAsync(never, TimeSpan.FromMinutes(1), stopping.Token);
        stopping.Cancel();

        Assert.ThrowsAsync<TaskCanceledException>(() => sending);
    }

    [Test]
    public async Task A_confirmed_send_completes()
    {
        var sent = 0;
        await QueueSends.WithinAsync(_ => { sent++; return Task.CompletedTask; }, TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.That(sent, Is.EqualTo(1));
    }
}
