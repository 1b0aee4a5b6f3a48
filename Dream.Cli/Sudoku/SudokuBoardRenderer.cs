using System.Text;

namespace Dream.Cli.Sudoku;

/// <summary>
/// Draws the 9×9 canvas as text: givens plain, cells the model has committed marked, masks as '·'.
/// With <c>ansi</c> the newest cells are highlighted and givens dimmed; without it the output is plain ASCII-safe
/// text (for redirected output and tests).
/// </summary>
public static class SudokuBoardRenderer
{
    /// <param name="cells">81 entries: a digit 0..9 once known, or −1 for a cell still masked.</param>
    /// <param name="givens">81 entries, true where the puzzle gave the digit.</param>
    /// <param name="newest">81 entries, true for cells committed in the latest step.</param>
    public static string Render(int[] cells, bool[] givens, bool[] newest, string status, bool ansi)
    {
        var sb = new StringBuilder();
        for (int r = 0; r < 9; r++)
        {
            if (r % 3 == 0) sb.Append("+-------+-------+-------+\n");
            for (int c = 0; c < 9; c++)
            {
                if (c % 3 == 0) sb.Append("| ");
                int i = r * 9 + c;
                string glyph = cells[i] < 0 ? "·" : cells[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (ansi && cells[i] >= 0)
                {
                    if (newest[i]) glyph = $"\u001b[1;32m{glyph}\u001b[0m";
                    else if (givens[i]) glyph = $"\u001b[2m{glyph}\u001b[0m";
                }
                sb.Append(glyph).Append(' ');
            }
            sb.Append("|\n");
        }
        sb.Append("+-------+-------+-------+\n");
        sb.Append(status).Append('\n');
        return sb.ToString();
    }
}
