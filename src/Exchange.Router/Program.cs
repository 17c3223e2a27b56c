using Exchange.Router;

await RouterHost.Build(args).RunAsync();
