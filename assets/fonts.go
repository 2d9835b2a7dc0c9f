package assets

import _ "embed"

// pdfFont is WenQuanYi Micro Hei, a TrueType (glyf) font with Latin and
// simplified Chinese, so PDFs render both languages from one font.
// License and provenance: fonts/LICENSE-wqy-microhei.txt.
//
//go:embed fonts/wqy-microhei.ttf
var pdfFont []byte

// PDFFont returns the TrueType font the PDF documents embed (subset).
// The slice is shared: callers must not modify it.
func PDFFont() []byte { return pdfFont }
