using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Exchange.Benchmarks -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Exchange.Benchmarks.VerifyBenchmarks).Assembly).Run(args);
