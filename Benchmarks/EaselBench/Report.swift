import Foundation

/// The markdown table (one row per figure, with its reference and ratio) and the chart.
struct Report {
  struct Row {
    var figure: String
    var value: String
    var reference: String
    var ratio: String
    var target: String = ""
  }

  var rows: [Row] = []
  var notes: [String] = []

  mutating func add(_ figure: String, _ value: String, reference: String = "–", ratio: Double? = nil, target: String = "") {
    rows.append(Row(figure: figure, value: value, reference: reference, ratio: ratio.map { format($0 * 100, digits: 0) + " %" } ?? "–", target: target))
  }

  var markdown: String {
    var text = "| figure | Easel | reference (same run) | ratio | target |\n| --- | --- | --- | --- | --- |\n"
    for row in rows { text += "| \(row.figure) | \(row.value) | \(row.reference) | \(row.ratio) | \(row.target) |\n" }
    for note in notes { text += "\n\(note)\n" }
    return text
  }

  /// Throughput and p99 latency against concurrency for GetTask and CreateTask, as SVG.
  static func chart(_ curve: [(concurrency: Int, get: H2Load.Result, create: H2Load.Result)]) -> String {
    let width = 900.0
    let height = 360.0
    let panel = (width - 180) / 2
    func panelSVG(x0: Double, title: String, unit: String, values: [(String, String, [Double])]) -> String {
      let maxValue = (values.flatMap(\.2).filter { !$0.isNaN }.max() ?? 1) * 1.1
      let count = Double(curve.count - 1)
      func point(_ index: Int, _ value: Double) -> (Double, Double) {
        (x0 + Double(index) / count * panel, 40 + (1 - value / maxValue) * (height - 100))
      }
      var svg = "<text x='\(x0 + panel / 2)' y='24' text-anchor='middle' font-size='15'>\(title)</text>"
      svg += "<line x1='\(x0)' y1='\(height - 60)' x2='\(x0 + panel)' y2='\(height - 60)' stroke='#333'/>"
      svg += "<line x1='\(x0)' y1='40' x2='\(x0)' y2='\(height - 60)' stroke='#333'/>"
      for (index, entry) in curve.enumerated() {
        let (x, _) = point(index, 0)
        svg += "<text x='\(x)' y='\(height - 42)' text-anchor='middle' font-size='11'>\(entry.concurrency)</text>"
      }
      svg += "<text x='\(x0 + panel / 2)' y='\(height - 22)' text-anchor='middle' font-size='12'>calls in flight</text>"
      for step in 0...4 {
        let value = maxValue * Double(step) / 4
        let (_, y) = point(0, value)
        svg += "<text x='\(x0 - 6)' y='\(y + 4)' text-anchor='end' font-size='10'>\(format(value, digits: value < 10 ? 1 : 0))</text>"
      }
      svg += "<text x='\(x0 - 44)' y='\(height / 2)' font-size='11' transform='rotate(-90 \(x0 - 44) \(height / 2))'>\(unit)</text>"
      for (name, color, series) in values {
        let points = series.enumerated().map { point($0.offset, $0.element) }.map { "\(format($0.0)),\(format($0.1))" }
        svg += "<polyline fill='none' stroke='\(color)' stroke-width='2.5' points='\(points.joined(separator: " "))'/>"
        for item in points {
          let xy = item.split(separator: ",")
          svg += "<circle cx='\(xy[0])' cy='\(xy[1])' r='3.5' fill='\(color)'/>"
        }
        _ = name
      }
      return svg
    }
    let series: (KeyPath<H2Load.Result, Double>) -> [(String, String, [Double])] = { path in
      [("GetTask", "#1f77b4", curve.map { $0.get[keyPath: path] }), ("CreateTask", "#d62728", curve.map { $0.create[keyPath: path] })]
    }
    var svg = "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(height))' font-family='sans-serif'>"
    svg += "<rect width='100%' height='100%' fill='white'/>"
    svg += panelSVG(x0: 70, title: "Throughput (calls/s)", unit: "calls/s", values: series(\.requestsPerSecond))
    svg += panelSVG(x0: 70 + panel + 90, title: "p99 latency (ms)", unit: "ms", values: series(\.latency.p99))
    svg += "<rect x='90' y='48' width='12' height='12' fill='#1f77b4'/><text x='108' y='58' font-size='12'>GetTask</text>"
    svg += "<rect x='90' y='66' width='12' height='12' fill='#d62728'/><text x='108' y='76' font-size='12'>CreateTask</text>"
    return svg + "</svg>"
  }
}
