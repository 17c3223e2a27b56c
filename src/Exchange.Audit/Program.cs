using Exchange.Audit;

await AuditHost.Build(args).RunAsync();
