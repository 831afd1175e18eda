package family

import (
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
)

// escapingUI is the post-processor's one sink for text a person reads,
// Packer's UI: every line said through it is escaped here (no control
// character, escape sequence or runner command prefix from a server reaches
// the terminal), whatever the caller composed it from.
type escapingUI struct{ packersdk.Ui }

func (u escapingUI) Say(s string)     { u.Ui.Say(safetext.Terminal(s)) }
func (u escapingUI) Message(s string) { u.Ui.Message(safetext.Terminal(s)) }
func (u escapingUI) Error(s string)   { u.Ui.Error(safetext.Terminal(s)) }
