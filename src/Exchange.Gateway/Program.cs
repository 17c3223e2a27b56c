using Exchange.Gateway;

await GatewayHost.Build(args).RunAsync();
