using MassTransit;

namespace Exchange.ServiceDefaults.Broker;

/// <summary>
/// Stamps every message a bus sends with the AMQP 0-9-1 basic property <c>user_id</c> = the broker user it logs in
/// as. RabbitMQ refuses a publish whose <c>user_id</c> is not the connection's user (406 PRECONDITION_FAILED,
/// https://www.rabbitmq.com/docs/validated-user-id), so the hub can trust it as the sender's login whichever
/// exchanges the message went through (<c>BusOrigin</c>, docs/broker.md "Who sent it"). A gateway's bus uses it;
/// the hub's does not, because the shovels that relay between hubs publish as another user.
/// </summary>
public static class BrokerUserStamp
{
    public static void StampBrokerUser(this IRabbitMqBusFactoryConfigurator configurator, string user)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        configurator.ConfigureSend(send => send.UseSendExecute(context =>
        {
            if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            {
                rabbit.BasicProperties.UserId = user;
            }
        }));
    }
}
