namespace Dream.Tests.Generation;

/// <summary>Where the project's copy of the golden files lies in the test output.</summary>
internal static class GenerationTestData
{
    public static string GoldenDirectory => Path.Combine(AppContext.BaseDirectory, "TestData", "golden");
}
