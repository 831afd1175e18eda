package ecstest

// The control API's tests (control_test.go) drive it through the Go client
// of ecstest/emulatorproc, which imports this package, so they are an
// external test package; these are the internal tests' helpers they share.

const (
	DemoKey        = demoKey
	DemoSecret     = demoSecret
	ReaderRole     = readerRole
	AllStatuses    = allStatuses
	DescribeAction = action
)

type RawAnswer = rawAnswer

var (
	DemoFixtureT    = demoFixture
	NewDemo         = newDemo
	ECSClient       = ecsClient
	STSClient       = stsClient
	Describe        = describe
	DescribeImages  = describeImages
	AssumeRoleT     = assumeRole
	WantServerError = wantServerError
	Signed          = signed
	Raw             = raw
	DecodeError     = decodeError
)
