package notify

import "github.com/colo-portal/portal/models"

// Clock and Timer are the workers' injectable time source (models.TimeSource).
type (
	Clock = models.TimeSource
	Timer = models.Timer
)
